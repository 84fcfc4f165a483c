"""The REST faces on the shared wallet store: thin HTTP handlers over :mod:`wallet_store.rest_service`.

* Player Balance API under ``/api/player-balances`` (``X-Game-Secret-Key``, this module):
  money as decimal strings (``"150.00"``, more places when the value has them, always exact).
* Private wallet API under ``/api/private`` (``x-api-key``, :mod:`groove_adapter.private`):
  ``{"error": false, "data": ...}`` envelopes, money as exact JSON numbers.

Each route is one row of :data:`OPERATIONS` (handler, body model, reply type, error statuses),
registered by :func:`groove_adapter.restface.routes` and documented from the same rows.

Both faces also take the game key as ``Authorization: Bearer <key>`` (the Player Balance
API seed's "SDK key in Authorization header", the private API's ``BearerAuth``).

``available_balance`` = real + bonus (spendable), ``reserved_balance`` = reserved,
``total_balance`` = available + reserved.  Currencies are the wallet's ISO-style codes
(``currency_id`` = ``currency_name`` = ``currency_symbol`` = the code until per-operator
currencies exist); ``total_value_usd`` is ``null`` because no exchange rates are configured.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Literal, get_args

from aiohttp import web

from wallet_store import errors as E
from wallet_store import money
from wallet_store.model import CURRENCY, BalanceFlow, Currency, Player, Wallet, iso
from wallet_store.rest_service import (
    CurrencyAnalytics,
    HistoryItem,
    PlayerBalances,
    Transfer,
    available,
    total,
)

from . import private, restface
from .jsonout import json_response
from .keys import CLOCK, REST_SERVICE
from .restface import (
    GAME,
    PB_KEY_HEADER,
    account_param,
    game_key,
    history_args,
    query_time,
    replay_header,
)
from .schemas import rest as S
from .schemas.common import EMAIL_PATTERN, currency_fields
from .schemas.operations import LIMIT, PAGE, TIME, Op, Query

__all__ = ["EMAIL", "GAME", "OPERATIONS", "PB_KEY_HEADER", "currency_fields", "game_key", "routes"]

EMAIL = re.compile(EMAIL_PATTERN)
ANALYTICS_DEFAULT_SPAN = timedelta(days=30)  # without ``from``: the last 30 days, either period


# ---------------------------------------------------------------------- Player Balance API


def _s(v: Decimal) -> str:
    return money.fixed(v, 2)


def pb_player(p: Player) -> S.PbPlayer:
    return {
        "player_id": p.account_id,
        "player_name": p.name,
        "player_email": p.email,
        "date_joined": iso(p.created_at),
        "last_active": iso(p.last_active) if p.last_active else None,
    }


def pb_balance(w: Wallet, currencies: dict[str, Currency]) -> S.PbBalance:
    return {
        **currency_fields(w.currency, currencies.get(w.currency)),
        "available_balance": _s(available(w)),
        "reserved_balance": _s(w.reserved),
        "total_balance": _s(total(w)),
        "last_transaction": iso(w.updated_at) if w.seq > 0 and w.updated_at else None,
    }


def _usd(v: Decimal | None) -> str | None:
    return None if v is None else _s(v)


def pb_summary(pb: PlayerBalances, request: web.Request, usd: Decimal | None) -> S.PbSummary:
    stamps = [w.updated_at for w in pb.wallets if w.updated_at is not None]
    return {
        "total_currencies": len(pb.wallets),
        "total_value_usd": _usd(usd),  # null when a funded wallet's currency has no rate
        "has_funds": any(total(w) > 0 for w in pb.wallets),
        "last_updated": iso(max(stamps) if stamps else request.app[CLOCK].now()),
    }


def pb_view(pb: PlayerBalances, request: web.Request) -> S.PbView:
    return {
        "player": pb_player(pb.player),
        "balances": [pb_balance(w, pb.currencies) for w in pb.wallets],
        "summary": pb_summary(pb, request, pb.usd_value),
    }


def pb_batch_player(pb: PlayerBalances, request: web.Request, *, summary: bool, usd: Decimal | None) -> S.PbBatchPlayer:
    """``usd``: the player's USD value (the caller computed it for the batch's summary)."""
    value = _usd(usd)
    out: S.PbBatchPlayer = {
        "player_id": pb.player.account_id,
        "player_email": pb.player.email,
        # total_value (the seed's name), and total_value_usd: its documented alias, kept for
        # integrations built on the earlier name
        "total_value": value,
        "total_value_usd": value,
        "player": pb_player(pb.player),
        "balances": [pb_balance(w, pb.currencies) for w in pb.wallets],
    }
    if summary:
        out["summary"] = pb_summary(pb, request, usd)
    return out


async def pb_by_id(request: web.Request) -> web.Response:
    acct = account_param(request, "player_id")
    pb = await request.app[REST_SERVICE].balances(request[GAME], account_id=acct)
    return json_response(pb_view(pb, request))


async def pb_by_email(request: web.Request) -> web.Response:
    email = request.match_info["email"]
    if len(email) > 320 or not EMAIL.fullmatch(email):
        raise E.Invalid("email is not a valid e-mail address")
    pb = await request.app[REST_SERVICE].balances(request[GAME], email=email)
    return json_response(pb_view(pb, request))


async def pb_batch(request: web.Request, b: S.BatchIn) -> web.Response:
    res = await request.app[REST_SERVICE].batch(request[GAME], account_ids=b.player_ids, emails=b.player_emails)
    values = [pb.usd_value for pb in res.found]
    players = [
        pb_batch_player(pb, request, summary=b.include_summary, usd=v) for pb, v in zip(res.found, values, strict=True)
    ]
    not_found: list[S.PbNotFound] = [{"player_id": a} for a in res.not_found_ids]
    not_found += [{"player_email": e} for e in res.not_found_emails]
    out: S.PbBatch = {"players": players, "not_found": not_found}
    if b.include_summary:
        known = [v for v in values if v is not None]
        usd = _usd(sum(known, money.ZERO)) if len(known) == len(values) else None
        out["summary"] = {
            "total_players": len(b.player_ids) + len(b.player_emails),
            "found": len(players),
            "not_found": len(not_found),
            "total_value": usd,
            "total_value_usd": usd,
            "has_funds": any(total(w) > 0 for pb in res.found for w in pb.wallets),
        }
    return json_response(out)


def pb_transfer(t: Transfer, cur: Currency) -> S.PbTransfer:
    return {
        "success": True,
        "status": "success",  # the write-response contract
        "transaction_id": t.reference,
        "type": t.direction,
        "player_id": t.account_id,
        "player_email": t.player_email,
        **currency_fields(t.currency, cur),
        "amount": _s(t.amount),
        "previous_balance": _s(t.available_before),
        "new_balance": _s(t.available_after),
        "available_balance": _s(t.available_after),
        "reserved_balance": _s(t.reserved_after),
        "total_balance": _s(money.add(t.available_after, t.reserved_after)),
        "reason": t.reason,
        "created_at": iso(t.created_at),
    }


def _pb_transfer_handler(
    direction: Literal["credit", "debit"],
) -> Callable[[web.Request, S.TransferIn], Awaitable[web.Response]]:
    async def handler(request: web.Request, b: S.TransferIn) -> web.Response:
        if (b.player_id is None) == (b.player_email is None):
            raise E.Invalid("exactly one of player_id and player_email is required")
        t, replayed, cur = await request.app[REST_SERVICE].transfer(
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
        return json_response(pb_transfer(t, cur), headers=replay_header(replayed))

    return handler


pb_credit = _pb_transfer_handler("credit")
pb_debit = _pb_transfer_handler("debit")


async def pb_convert(request: web.Request, b: S.ConvertIn) -> web.Response:
    if (b.player_id is None) == (b.player_email is None):
        raise E.Invalid("exactly one of player_id and player_email is required")
    c, replayed = await request.app[REST_SERVICE].convert(
        request[GAME],
        account_id=b.player_id,
        email=b.player_email,
        from_currency=b.from_currency,
        to_currency=b.to_currency,
        amount=b.amount,
        idempotency_key=b.idempotency_key,
    )
    body: S.PbConvert = {
        "success": True,
        "status": "success",  # the write-response contract
        "transaction_id": c.reference,
        "player_id": c.account_id,
        "player_email": c.player_email,
        "from": {
            **currency_fields(c.from_currency.code, c.from_currency),
            "amount": _s(c.amount),
            "usd_rate": money.wire(c.rate_from),
            "available_balance": _s(c.from_available),
        },
        "to": {
            **currency_fields(c.to_currency.code, c.to_currency),
            "amount": _s(c.credited),
            "usd_rate": money.wire(c.rate_to),
            "available_balance": _s(c.to_available),
        },
        # new_balance: the balance the value went to (the target currency's available).
        "new_balance": _s(c.to_available),
        "currency_name": c.to_currency.name,
        "created_at": iso(c.created_at),
    }
    return json_response(body, headers=replay_header(replayed))


# History ``type`` filter values; every row has exactly one.  ``none``: the available balance
# did not move (a hold capture takes reserved funds only, a zero win).  The private API's
PB_HISTORY_TYPES: tuple[BalanceFlow, ...] = get_args(get_args(S.PbHistoryType)[0])  # credit, debit, none


def pb_history_item(it: HistoryItem) -> S.PbHistoryItem:
    e = it.entry
    return {
        "transaction_id": e.reference,
        "type": it.direction,
        "kind": e.kind,
        "amount": _s(it.amount),
        "balance_before": _s(it.before),
        "balance_after": _s(it.after),
        "reserved_before": _s(e.reserved_before),
        "reserved_after": _s(e.reserved_after),
        "reason": e.reason,
        "game_id": it.game_id,
        "created_at": iso(e.created_at),
    }


async def pb_history(request: web.Request) -> web.Response:
    acct = account_param(request, "player_id")
    code = request.query.get("currency")
    if code is None or not CURRENCY.fullmatch(code):
        raise E.Invalid("currency is required, a code like EUR")
    hp = await request.app[REST_SERVICE].history(
        request[GAME],
        code,
        account_id=acct,
        **history_args(request, PB_HISTORY_TYPES),
    )
    body: S.PbHistory = {
        "player": pb_player(hp.player),
        "balance": pb_balance(hp.wallet, {code: hp.currency} if hp.currency else {}),
        "page": hp.page,
        "limit": hp.limit,
        "total": hp.total,
        "transactions": [pb_history_item(it) for it in hp.items],
    }
    return json_response(body)


async def pb_analytics(request: web.Request) -> web.Response:
    acct = account_param(request, "player_id")
    bucket = request.query.get("period", "day")
    if bucket not in ("day", "week"):
        raise E.Invalid("period must be day or week")
    code = request.query.get("currency")
    if code is not None and not CURRENCY.fullmatch(code):
        raise E.Invalid("currency must be a code like EUR")
    until = query_time(request, "to") or request.app[CLOCK].now()
    since = query_time(request, "from") or until - ANALYTICS_DEFAULT_SPAN
    a = await request.app[REST_SERVICE].analytics(
        request[GAME],
        acct,
        bucket="day" if bucket == "day" else "week",
        since=since,
        until=until,
        currency=code,
    )

    body: S.PbAnalytics = {
        "player": pb_player(a.player),
        "period": a.bucket,
        "from": iso(a.since),
        "to": iso(a.until),
        "currencies": [analytics_currency(c) for c in a.currencies],
    }
    return json_response(body)


def _trend(now: Decimal, before: Decimal) -> S.PbTrend:
    change = money.sub(now, before)
    pct = None if before.is_zero() else money.fixed(money.proportion(change, Decimal(100), before), 2)
    return {"current": _s(now), "previous": _s(before), "change": _s(change), "change_percent": pct}


def analytics_currency(c: CurrencyAnalytics) -> S.PbAnalyticsCurrency:
    return {
        **currency_fields(c.currency, c.info),
        "spend": _s(c.spend),
        "wins": _s(c.wins),
        "credits": _s(c.credits),
        "buckets": [
            {"start": iso(b.start), "spend": _s(b.spend), "wins": _s(b.wins), "credits": _s(b.credits)}
            for b in c.buckets
        ],
        "top_spend_categories": [{"category": k, "amount": _s(v), "count": n} for k, v, n in c.top_spend],
        "trend": {"spend": _trend(c.spend, c.previous_spend), "wins": _trend(c.wins, c.previous_wins)},
    }


async def pb_currencies(request: web.Request) -> web.Response:
    game = request[GAME]
    currencies = await request.app[REST_SERVICE].list_currencies(game.operator_id)
    body: S.PbCurrencies = {"currencies": [currency_view(c) for c in currencies]}
    return json_response(body)


def currency_view(c: Currency) -> S.PbCurrency:
    return {
        **currency_fields(c.code, c),
        "usd_rate": None if c.usd_rate is None else money.wire(c.usd_rate),
        "start_amount": _s(c.start_amount),
        "updated_at": iso(c.updated_at),
    }


_PB_ERRORS = (400, 401, 404)
_PB_WRITE_ERRORS = (400, 401, 403, 404, 409)
_HISTORY_Q = (Query("from", TIME), Query("to", TIME))

PB_OPERATIONS: tuple[Op, ...] = (
    Op("GET", "/api/player-balances/player/by-email/{email}", pb_by_email, S.PbView, _PB_ERRORS, limit="email"),
    Op("GET", "/api/player-balances/player/{player_id}", pb_by_id, S.PbView, _PB_ERRORS, limit="individual"),
    Op("POST", "/api/player-balances/batch", pb_batch, S.PbBatch, (400, 401), body=S.BatchIn, limit="batch"),
    Op(
        "POST",
        "/api/player-balances/credit",
        pb_credit,
        S.PbTransfer,
        _PB_WRITE_ERRORS,
        body=S.TransferIn,
        limit="write",
    ),
    Op(
        "POST",
        "/api/player-balances/debit",
        pb_debit,
        S.PbTransfer,
        (*_PB_WRITE_ERRORS, 422),
        body=S.TransferIn,
        limit="write",
    ),
    Op(
        "POST",
        "/api/player-balances/convert",
        pb_convert,
        S.PbConvert,
        (*_PB_WRITE_ERRORS, 422),
        body=S.ConvertIn,
        description="Move value between two of a player's currencies atomically at the current USD rates.",
        limit="write",
    ),
    Op("GET", "/api/player-balances/currencies", pb_currencies, S.PbCurrencies, (401,), limit="individual"),
    Op(
        "GET",
        "/api/player-balances/player/{player_id}/history",
        pb_history,
        S.PbHistory,
        _PB_ERRORS,
        query=(
            Query("currency", {"type": "string"}, required=True),
            Query("type", S.PbHistoryType),
            *_HISTORY_Q,
            Query("page", PAGE),
            Query("limit", LIMIT),
        ),
        limit="individual",
    ),
    Op(
        "GET",
        "/api/player-balances/player/{player_id}/analytics",
        pb_analytics,
        S.PbAnalytics,
        _PB_ERRORS,
        query=(
            Query("period", {"type": "string", "enum": ["day", "week"]}),
            Query("currency", {"type": "string"}),
            Query("from", {**TIME, "description": "ISO 8601 with a timezone; default: 30 days before to"}),
            Query("to", TIME),
        ),
        limit="individual",
    ),
)


# Both REST faces, as /openapi.json documents them.
OPERATIONS: tuple[Op, ...] = (*PB_OPERATIONS, *private.OPERATIONS)


def routes() -> list[web.RouteDef]:
    return restface.routes(OPERATIONS)
