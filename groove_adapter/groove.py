"""The /groove transaction API: parse the query string, call the service, format the reply.

Every protocol answer is HTTP 200 with the outcome in ``code``; domain errors are mapped in
one place (:data:`groove_adapter.errors.GROOVE`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args
from urllib.parse import unquote_plus

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

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

from .errors import GROOVE, lookup
from .jsonout import JsonLimitError, json_response, loads
from .keys import GROOVE_LOG, LOG_EXC, SERVICE, SETTINGS
from .observability import METRICS

M = TypeVar("M", bound=BaseModel)


# Strict formats for every parameter the signature covers (docs/security.md, "Signatures"):
# with Groove's value concatenation a character moved from one value to its neighbour keeps
# the signature, so each value has one spelling and a character set its neighbours mostly
# do not share.  An amount is canonical: the shortest decimal (what replies carry: ``100``,
# ``140.25``, ``0.0000000001``), no leading zeros, no trailing fractional zeros, no bare
# ``.``; ``-`` only before a non-zero amount (refused later as negative, 110).
_CANONICAL_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]{0,21})(?:\.[0-9]{0,9}[1-9])?")


def canonical_amount(text: str) -> Decimal:
    """A /groove query amount in canonical form, else :class:`money.MoneyError`."""
    if _CANONICAL_AMOUNT.fullmatch(text) is None or text == "-0":
        raise money.MoneyError("not a canonical decimal (no leading or trailing zeros, at most 22.10 digits)")
    return money.parse(text)


def _amount(v: object) -> Decimal:
    if isinstance(v, str):
        return canonical_amount(v)
    return money.coerce(v)


# Limits shared by the pydantic models and the fast path (_fast_params).
ACCOUNT_MAX = 60
SESSION_MAX = 64
ID_MAX = 255
APIVERSION_MAX = 16
STATUS_MAX = 32
# The characters of ids (gamesessionid, gameid, nogsgameid, roundid, transactionid, frbid,
# request_id): ASCII letters, digits and ``- _ . : ~ @ | /``; never ``&``, ``=``, ``%``,
# ``+`` or a space, so a name=value pair (the "pairs" signature scheme) splits one way only.
ID_CHARS = r"0-9A-Za-z_.:~@|/\-"
_ID_RE = re.compile(rf"[{ID_CHARS}]{{1,{ID_MAX}}}")
_SESSION_RE = re.compile(rf"[{ID_CHARS}]{{1,{SESSION_MAX}}}")
# apiversion: dot-separated numbers without leading zeros (``1``, ``1.2``, ``2.10``).
_APIVERSION_RE = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.(?:0|[1-9][0-9]{0,5}))*")
# gamestatus: letters only (``completed``, ``pending``; any other word is refused with 110).
_STATUS_RE = re.compile(rf"[A-Za-z]{{0,{STATUS_MAX}}}")

Amount = Annotated[Decimal, BeforeValidator(_amount)]
AccountId = Annotated[str, StringConstraints(pattern=rf"^[0-9A-Za-z]{{1,{ACCOUNT_MAX}}}$")]
SessionId = Annotated[str, StringConstraints(pattern=f"^{_SESSION_RE.pattern}$")]
Id255 = Annotated[str, StringConstraints(pattern=f"^{_ID_RE.pattern}$")]
Device = Literal["desktop", "mobile"]
DEVICES: tuple[str, ...] = get_args(Device)
ApiVersion = Annotated[str, StringConstraints(max_length=APIVERSION_MAX, pattern=f"^{_APIVERSION_RE.pattern}$")]
GameStatus = Annotated[str, StringConstraints(pattern=f"^{_STATUS_RE.pattern}$")]


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    accountid: AccountId
    gamesessionid: SessionId
    device: Device
    apiversion: ApiVersion


class GetAccountQ(_Common):
    pass


class GetBalanceQ(_Common):
    nogsgameid: Id255


class WagerQ(_Common):
    gameid: Id255
    betamount: Amount
    roundid: Id255
    transactionid: Id255
    frbid: Id255 | None = None


class ResultQ(_Common):
    gameid: Id255
    result: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus
    frbid: Id255 | None = None


class WagerAndResultQ(_Common):
    gameid: Id255
    betamount: Amount
    result: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus
    frbid: Id255 | None = None


class RollbackQ(_Common):
    gameid: Id255
    roundid: Id255
    transactionid: Id255
    rollbackamount: Amount | None = None


class JackpotQ(_Common):
    gameid: Id255
    amount: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus


class ReverseWinQ(_Common):
    gameid: Id255
    amount: Amount
    roundid: Id255 | None = None
    transactionid: Id255


class RollbackRollbackQ(_Common):
    gameid: Id255
    rollbackAmount: Amount = Field(validation_alias="rollbackAmount")
    roundid: Id255 | None = None
    transactionid: Id255


class BatchQ(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    request_id: Id255  # required: the spec puts it in the (signed) query string
    gamesessionid: SessionId
    gameid: Id255
    apiversion: ApiVersion


class BatchBet(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    transaction_id: Id255
    round_id: Id255
    amount: Amount
    frb_id: Id255 | None = None


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    account_id: AccountId
    game_id: Id255
    game_session_id: SessionId
    device: Device
    bets: list[BatchBet] = Field(min_length=1)


def _validate(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "request"
        detail = "missing" if err["type"] == "missing" else "malformed"
        raise E.ParameterRequired(loc, detail) from None


# ---------------------------------------------------------------------- fast path for parameters

_ID, _OPT_ID, _AMOUNT, _OPT_AMOUNT, _STATUS = range(5)

# Beyond the _Common fields, per model, in field order: (query parameter, kind).
_FAST_FIELDS: dict[type[BaseModel], tuple[tuple[str, int], ...]] = {
    GetAccountQ: (),
    GetBalanceQ: (("nogsgameid", _ID),),
    WagerQ: (("gameid", _ID), ("betamount", _AMOUNT), ("roundid", _ID), ("transactionid", _ID), ("frbid", _OPT_ID)),
    ResultQ: (
        ("gameid", _ID),
        ("result", _AMOUNT),
        ("roundid", _ID),
        ("transactionid", _ID),
        ("gamestatus", _STATUS),
        ("frbid", _OPT_ID),
    ),
    WagerAndResultQ: (
        ("gameid", _ID),
        ("betamount", _AMOUNT),
        ("result", _AMOUNT),
        ("roundid", _ID),
        ("transactionid", _ID),
        ("gamestatus", _STATUS),
        ("frbid", _OPT_ID),
    ),
    RollbackQ: (("gameid", _ID), ("roundid", _ID), ("transactionid", _ID), ("rollbackamount", _OPT_AMOUNT)),
    JackpotQ: (("gameid", _ID), ("amount", _AMOUNT), ("roundid", _ID), ("transactionid", _ID), ("gamestatus", _STATUS)),
    ReverseWinQ: (("gameid", _ID), ("amount", _AMOUNT), ("roundid", _OPT_ID), ("transactionid", _ID)),
    RollbackRollbackQ: (
        ("gameid", _ID),
        ("rollbackAmount", _AMOUNT),
        ("roundid", _OPT_ID),
        ("transactionid", _ID),
    ),
}


def _fast_params(model: type[BaseModel], q: Mapping[str, str]) -> dict[str, Any] | None:
    """The model's field values when every parameter is plainly valid, else None.

    Plainly valid: matching the model's own patterns (ASCII only, so lengths are characters
    and no surrogate or Unicode digit can differ between this check and pydantic's), amounts
    accepted by :func:`canonical_amount` (the model's own validator).  The model accepts all
    such input, with the same values; anything else returns None and goes through the model.
    """
    fields = _FAST_FIELDS.get(model)
    if fields is None:
        return None
    account = q.get("accountid")
    session = q.get("gamesessionid")
    device = q.get("device")
    apiversion = q.get("apiversion")
    if (
        account is None
        or _ACCOUNT_RE.fullmatch(account) is None
        or session is None
        or _SESSION_RE.fullmatch(session) is None
        or device not in DEVICES
        or apiversion is None
        or len(apiversion) > APIVERSION_MAX
        or _APIVERSION_RE.fullmatch(apiversion) is None
    ):
        return None
    out: dict[str, Any] = {"accountid": account, "gamesessionid": session, "device": device, "apiversion": apiversion}
    for name, kind in fields:
        value = q.get(name)
        if value is None:
            if kind in (_OPT_ID, _OPT_AMOUNT):
                out[name] = None
                continue
            return None
        if kind in (_AMOUNT, _OPT_AMOUNT):
            try:
                out[name] = canonical_amount(value)
            except money.MoneyError:
                return None
        elif (_STATUS_RE if kind == _STATUS else _ID_RE).fullmatch(value) is not None:
            out[name] = value
        else:
            return None
    return out


def _params(model: type[BaseModel], q: Mapping[str, str]) -> dict[str, Any]:
    """A request's validated parameters by field name.

    The common case (plain ASCII within limits) is checked directly, which costs a fraction of
    ``model_validate``; everything else, including every invalid request, goes through the
    pydantic model, so values and errors (:class:`E.ParameterRequired` naming the first bad
    field) are always the model's.  tests/test_groove_fast_params.py checks that they agree.
    """
    fast = _fast_params(model, q)
    if fast is not None:
        return fast
    return dict(_validate(model, q))


def signed_pairs(params: Mapping[str, str]) -> str:
    """What the "pairs" scheme signs: every query parameter, ``request`` included, as
    ``name=value`` (URL-decoded, exactly as received), sorted by name, joined with ``&``.

    Unambiguous because no name or value may hold ``&`` or ``=`` (:func:`_single_params`).
    """
    return "&".join([f"{k}={params[k]}" for k in sorted(params)])


def signed_payload(params: Mapping[str, str]) -> str:
    """Values of the query parameters sorted by name; `request` excluded, nogsgameid as gameid."""
    if "nogsgameid" in params:
        if "gameid" in params:  # two values under one name: they sort by value
            items = sorted(("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request")
            return "".join(v for _, v in items)
        renamed = dict(params)
        renamed["gameid"] = renamed.pop("nogsgameid")
        params = renamed
    # Names are unique in a dict, so sorting the names sorts the (name, value) pairs.
    return "".join([params[k] for k in sorted(params) if k != "request"])


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
    m = _params(GetAccountQ, q)
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
    m = _params(GetBalanceQ, q)
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
    m = _params(WagerQ, q)
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
    m = _params(ResultQ, q)
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
    m = _params(WagerAndResultQ, q)
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
    m = _params(RollbackQ, q)
    o = await svc.rollback(
        Rollback(
            m["accountid"], m["gamesessionid"], m["gameid"], m["roundid"], m["transactionid"], m["rollbackamount"]
        ),
        caller,
    )
    return _money_reply(o, bet=True) | {}, o


async def _jackpot(svc: WalletService, q: Mapping[str, str], caller: Caller) -> tuple[dict[str, Any], MoneyOutcome]:
    m = _params(JackpotQ, q)
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
    m = _params(ReverseWinQ, q)
    o = await svc.reverse_win(
        ReverseWin(m["accountid"], m["gamesessionid"], m["gameid"], m["roundid"], m["transactionid"], m["amount"]),
        caller,
    )
    return _money_reply(o, bet=True), o


async def _rollbackrollback(
    svc: WalletService, q: Mapping[str, str], caller: Caller
) -> tuple[dict[str, Any], MoneyOutcome]:
    m = _params(RollbackRollbackQ, q)
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
        signed_payload=signed_payload(params),
        signed_pairs=signed_pairs(params),
    )


_ACCOUNT_RE = re.compile(rf"[0-9A-Za-z]{{1,{ACCOUNT_MAX}}}")


def _loggable_account(value: str) -> str:
    """Only a well-formed account id is logged (never an e-mail or other free text)."""
    return value if _ACCOUNT_RE.fullmatch(value) else ("<malformed>" if value else "")


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
    q = _validate(BatchQ, params)
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
    b = _validate(BatchBody, data)
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
