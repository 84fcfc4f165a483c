"""The /groove transaction API: parse the query string, call the service, format the reply.

Every protocol answer is HTTP 200 with the outcome in ``code``; domain errors are mapped in
one place (:data:`groove_adapter.errors.GROOVE`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from wallet_store import errors as E
from wallet_store import money
from wallet_store.commands import (
    AccountView,
    Caller,
    Jackpot,
    MoneyOutcome,
    Result,
    ReverseWin,
    Rollback,
    RollbackRollback,
    SessionQuery,
    Wager,
    WagerAndResult,
)
from wallet_store.model import Wallet, game_mode
from wallet_store.service import WalletService
from wallet_store.services.auth import signed_pairs as signed_pairs  # the signing rules, re-exported
from wallet_store.services.auth import signed_payload as signed_payload

from .errors import GROOVE, lookup
from .jsonout import JsonLimitError, json_response, loads
from .keys import GROOVE_LOG, LOG_EXC, SERVICE, SETTINGS
from .observability import METRICS
from .schemas.groove import (
    ACCOUNT_RE,
    APIVERSION_MAX,
    BatchBody,
    BatchQ,
    GetAccountQ,
    GetBalanceQ,
    JackpotQ,
    ResultQ,
    ReverseWinQ,
    RollbackQ,
    RollbackRollbackQ,
    WagerAndResultQ,
    WagerQ,
    query_fields,
    validate,
)


def _balances(wallet: Wallet, order: str) -> dict[str, Any]:
    return {
        "balance": wallet.total,
        "real_balance": wallet.real,
        "bonus_balance": wallet.bonus,
        "game_mode": game_mode(wallet, "bonus_money" if order == "bonus_money" else "cash_money"),
        "order": order,
    }


def _ok(duplicate: bool = False) -> dict[str, Any]:
    return {"code": 200, "status": "Success - duplicate request" if duplicate else "Success"}


# ---------------------------------------------------------------------- request handlers

Handler = Callable[[WalletService, Mapping[str, str], Caller], Awaitable[tuple[dict[str, Any], MoneyOutcome | None]]]


async def _getaccount(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], None]:
    m = query_fields(GetAccountQ, q)
    v: AccountView = await svc.get_account(SessionQuery(m["accountid"], m["gamesessionid"]), caller)
    body = _ok() | {
        "accountid": v.player.account_id,
        "city": v.player.city,
        "country": v.player.country,
        "currency": v.session.currency,
        "gamesessionid": v.session.session_id,
        "real_balance": v.wallet.real,
        "bonus_balance": v.wallet.bonus,
        "game_mode": game_mode(v.wallet, v.order),
        "order": v.order,
    }
    return body, None


async def _getbalance(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], None]:
    m = query_fields(GetBalanceQ, q)
    v = await svc.get_balance(SessionQuery(m["accountid"], m["gamesessionid"]), caller)
    wallet, order = v.wallet, v.order
    body = {
        "code": 200,
        "status": "Success",
        "balance": wallet.total,
        "real_balance": wallet.real,
        "bonus_balance": wallet.bonus,
        "game_mode": game_mode(wallet, "bonus_money" if order == "bonus_money" else "cash_money"),
        "order": order,
    }
    return body, None  # = _ok() | _balances(wallet, order), built in one step


def _money_reply(o: MoneyOutcome, *, bet: bool = False, win: bool = False) -> dict[str, Any]:
    body = _ok(o.duplicate)
    rec = o.record
    if bet:
        body |= {"accounttransactionid": rec.wallet_tx}
    if win and not bet:
        body |= {"walletTx": rec.wallet_tx}
    body |= _balances(o.wallet, o.order)
    if bet:
        body |= {"realmoneybet": rec.real, "bonusmoneybet": rec.bonus}
    if win:
        w = o.win_record if bet else rec
        if w is not None:
            if bet:
                body["walletTx"] = w.wallet_tx
            body |= {"realMoneyWin": w.real, "bonusWin": w.bonus}
    return body


async def _wager(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(WagerQ, q)
    o = await svc.wager(
        Wager(
            m["accountid"],
            m["gamesessionid"],
            m["gameid"],
            m["roundid"],
            m["transactionid"],
            m["betamount"],
            m["frbid"],
        ),
        caller,
    )
    return _money_reply(o, bet=True), o


async def _result(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(ResultQ, q)
    o = await svc.result(
        Result(
            m["accountid"],
            m["gamesessionid"],
            m["gameid"],
            m["roundid"],
            m["transactionid"],
            m["result"],
            m["gamestatus"],
            m["frbid"],
        ),
        caller,
    )
    return _money_reply(o, win=True), o


async def _wager_and_result(
    svc: WalletService, q: Mapping[str, str], caller: Caller
) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(WagerAndResultQ, q)
    o = await svc.wager_and_result(
        WagerAndResult(
            m["accountid"],
            m["gamesessionid"],
            m["gameid"],
            m["roundid"],
            m["transactionid"],
            m["betamount"],
            m["result"],
            m["gamestatus"],
            m["frbid"],
        ),
        caller,
    )
    return _money_reply(o, bet=True, win=True), o


async def _rollback(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(RollbackQ, q)
    o = await svc.rollback(
        Rollback(
            m["accountid"], m["gamesessionid"], m["gameid"], m["roundid"], m["transactionid"], m["rollbackamount"]
        ),
        caller,
    )
    return _money_reply(o, bet=True) | {}, o


async def _jackpot(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(JackpotQ, q)
    o = await svc.jackpot(
        Jackpot(
            m["accountid"],
            m["gamesessionid"],
            m["gameid"],
            m["roundid"],
            m["transactionid"],
            m["amount"],
            m["gamestatus"],
        ),
        caller,
    )
    return _money_reply(o, win=True), o


async def _reversewin(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(ReverseWinQ, q)
    o = await svc.reverse_win(
        ReverseWin(m["accountid"], m["gamesessionid"], m["gameid"], m["roundid"], m["transactionid"], m["amount"]),
        caller,
    )
    return _money_reply(o, bet=True), o


async def _rollbackrollback(
    svc: WalletService, q: Mapping[str, str], caller: Caller
) -> tuple[dict[str, Any], MoneyOutcome]:
    m = query_fields(RollbackRollbackQ, q)
    o = await svc.rollback_rollback(
        RollbackRollback(
            m["accountid"], m["gamesessionid"], m["gameid"], m["roundid"], m["transactionid"], m["rollbackAmount"]
        ),
        caller,
    )
    return _money_reply(o, bet=True), o


# rollback's reply carries accounttransactionid but no bet split
_ROLLBACK_DROP = ("realmoneybet", "bonusmoneybet")

HANDLERS: dict[str, Handler] = {
    "getaccount": _getaccount,
    "getbalance": _getbalance,
    "wager": _wager,
    "result": _result,
    "wagerAndResult": _wager_and_result,
    "rollback": _rollback,
    "jackpot": _jackpot,
    "reversewin": _reversewin,
    "rollbackrollback": _rollbackrollback,
}


def _single_params(request: web.Request) -> dict[str, str]:
    settings = request.app[SETTINGS]
    if len(request.query_string) > settings.max_query_bytes:
        raise E.ParameterRequired("query", f"longer than {settings.max_query_bytes} bytes")
    try:
        query = request.query
        params: dict[str, str] = {}
        for k, v in query.items():
            if k in params:
                raise E.ParameterRequired(k, "given more than once")
            if "\x00" in v or "\ufffd" in v:
                raise E.ParameterRequired(k, "malformed")
            if "&" in k or "=" in k or "&" in v or "=" in v:  # keeps signed_pairs unambiguous
                raise E.ParameterRequired(k, "holds '&' or '='")
            params[k] = v
    except UnicodeDecodeError:
        raise E.ParameterRequired("query", "not UTF-8") from None
    return params


def lenient_apiversion(raw_query: str) -> str:
    """``apiversion`` read alone from the raw query string, for the reply to a query refused as a
    whole (a repeated parameter, over-long, not UTF-8): '' when it is absent, given twice with
    different values, or itself unreadable.  Scans at most ``max_query_bytes`` plus the request
    line's slack (aiohttp's ``max_line_size``), so it costs microseconds."""
    values = set()
    for pair in raw_query.split("&"):
        name, _, value = pair.partition("=")
        if unquote_plus(name) != "apiversion":
            continue
        try:
            values.add(unquote_plus(value, errors="strict"))
        except UnicodeDecodeError:
            return ""
    if len(values) != 1:
        return ""
    value = values.pop()
    return "" if "\x00" in value else value[:APIVERSION_MAX]


def _caller(request: web.Request, params: Mapping[str, str]) -> Caller:
    settings = request.app[SETTINGS]
    ip = request.remote
    if settings.trusted_proxy_header:
        # The trusted proxy appends the address it saw on the right; anything to its left was
        # written by the client and can be forged.
        forwarded = request.headers.get(settings.trusted_proxy_header)
        if forwarded:
            ip = forwarded.split(",")[-1].strip()
    return Caller(
        ip=ip,
        signature=request.headers.get("X-Groove-Signature"),
        params=params,
    )


def _loggable_account(value: str) -> str:
    """Only a well-formed account id is logged (never an e-mail or other free text)."""
    return value if ACCOUNT_RE.fullmatch(value) else ("<malformed>" if value else "")


def error_body(exc: BaseException, apiversion: str) -> dict[str, Any]:
    code, status = lookup(GROOVE, exc)
    message = exc.message if isinstance(exc, E.WalletError) else "Technical error"
    return {"code": code, "status": status, "message": message, "apiversion": apiversion}


async def groove(request: web.Request) -> web.Response:
    """GET /groove (and POST for wagerbybatch)."""
    started = time.perf_counter()
    svc = request.app[SERVICE]
    metrics = request.app[METRICS]
    params: dict[str, str] = {}
    name = "unknown"
    apiversion = ""
    outcome: MoneyOutcome | None = None
    try:
        params = _single_params(request)
        apiversion = params.get("apiversion", "")[:16]
        name = params.get("request", "")
        if name == "wagerbybatch":
            if request.method != "POST":
                raise E.ParameterRequired("request", "wagerbybatch must be POSTed")
            body = await _wagerbybatch(request, svc, params)
        else:
            handler = HANDLERS.get(name)
            if handler is None:
                raise E.ParameterRequired("request", "unknown request" if name else "missing")
            if request.method != "GET":
                raise E.ParameterRequired("request", f"{name} must use GET")
            body, outcome = await handler(svc, params, _caller(request, params))
        body["apiversion"] = apiversion
    except Exception as exc:
        if not apiversion:  # refused before the parameters were read: echo it if it can be read
            apiversion = lenient_apiversion(request.rel_url.raw_query_string)
        body = error_body(exc, apiversion)
        if not isinstance(exc, E.WalletError):
            request[LOG_EXC] = exc
    log = {
        "request": name if name in HANDLERS or name == "wagerbybatch" else "unknown",
        "account": _loggable_account(params.get("accountid", "")),
        "code": body["code"],
    }
    request[GROOVE_LOG] = log
    metrics.observe_groove(str(log["request"]), body["code"], time.perf_counter() - started, outcome)
    if name == "rollback" and body["code"] == 200:
        for k in _ROLLBACK_DROP:
            body.pop(k, None)
    return json_response(body)


async def _wagerbybatch(request: web.Request, svc: WalletService, params: dict[str, str]) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    q = validate(BatchQ, params)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        # The protocol's own answer (nothing moved), not aiohttp's 413 or a technical error.
        raise E.ParameterRequired("body", f"larger than {settings.max_body_bytes} bytes") from None
    try:
        data = loads(raw)
    except JsonLimitError as exc:
        raise E.ParameterRequired("body", str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise E.ParameterRequired("body", "not JSON") from None
    if not isinstance(data, dict):
        raise E.ParameterRequired("body", "not a JSON object")
    b = validate(BatchBody, data)
    if len(b.bets) > settings.max_batch_bets:
        raise E.ParameterRequired("bets", f"more than {settings.max_batch_bets} bets")
    if b.game_session_id != q.gamesessionid:
        raise E.NotLoggedOn("game_session_id differs from the query's gamesessionid")
    if b.game_id != q.gameid:  # only the query is signed: the body may not name another game
        raise E.ParameterRequired("game_id", "differs from the query's gameid")
    caller = _caller(request, params)
    # Batch-level session check: a bad session fails the whole batch with 1000, nothing moved.
    view = await svc.get_balance(SessionQuery(b.account_id, b.game_session_id), caller)
    results: list[dict[str, Any]] = []
    last: MoneyOutcome | None = None
    for bet in b.bets:
        try:
            o = await svc.wager(
                Wager(
                    b.account_id, b.game_session_id, b.game_id, bet.round_id, bet.transaction_id, bet.amount, bet.frb_id
                ),
                caller,
            )
            last = o
            results.append(
                {
                    "transaction_id": bet.transaction_id,
                    "provider_transaction_id": o.record.wallet_tx,
                    "real_money_bet": o.record.real,
                    "bonus_money_bet": o.record.bonus,
                    "code": 200,
                    "status": "Success - duplicate request" if o.duplicate else "Success",
                }
            )
        except Exception as exc:
            code, status = lookup(GROOVE, exc)
            results.append(
                {
                    "transaction_id": bet.transaction_id,
                    "provider_transaction_id": None,
                    "real_money_bet": money.ZERO,
                    "bonus_money_bet": money.ZERO,
                    "code": code,
                    "status": status,
                }
            )
    if last is not None:
        balances = _balances(last.wallet, last.order)
    else:
        view = await svc.get_balance(SessionQuery(b.account_id, b.game_session_id), caller)
        balances = _balances(view.wallet, view.order)
    return _ok() | balances | {"bets": results}
