"""Wallets that each get one Groove rule wrong, for ``tests/test_certify_bugs.py``.

A bug is one of three kinds of small fake around the real app (everything else, HTTP, store,
signatures, is the real thing):

* a ``WalletService`` subclass (the service decides wrongly);
* a Tx wrapper (the data layer answers wrongly: a round never closes, a limit is not found);
* an aiohttp middleware on ``/groove`` that rewrites the request before the real handler
  sees it (with the caller, hence the signature check, of the request as sent) or rewrites
  the reply (a dropped field, another code, a forgotten duplicate flag).

Middlewares and services keep state per app: ``Bug.app`` builds fresh ones for each run.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from groove_adapter.groove import HANDLERS, _caller, error_body
from groove_adapter.jsonout import json_response, loads
from groove_adapter.keys import SERVICE
from groove_client import certify
from tests.broken_wallet import DoubleDebitOnDuplicate, SessionCheckedOnSettling, broken_app
from wallet_store import errors as E
from wallet_store import money
from wallet_store.commands import (
    Caller,
    Jackpot,
    MoneyOutcome,
    Result,
    ReverseWin,
    Rollback,
    RollbackRollback,
    Wager,
    WagerAndResult,
)
from wallet_store.loads import load_bet_by_reads, load_settle_by_reads, load_view_by_reads
from wallet_store.model import Limits, Round, TxRecord
from wallet_store.ports import BetQuery, BetRows, SettleRows, Tx, ViewRows
from wallet_store.service import WalletService

Query = dict[str, str]
Body = dict[str, Any]
AMOUNT_KEYS = ("betamount", "result", "amount", "rollbackamount", "rollbackAmount")


@dataclass(frozen=True)
class Bug:
    """One wrong rule.  ``evidence``: a regex every failure message of a scenario it breaks matches."""

    name: str
    evidence: str
    service: type[WalletService] = WalletService
    middleware: Callable[[], Middleware] | None = None
    wrap_tx: Callable[[Tx], Tx] | None = None

    def app(self, tmp_path: Path) -> web.Application:
        mw = self.middleware() if self.middleware is not None else None
        return broken_app(tmp_path, self.service, middleware=mw, wrap_tx=self.wrap_tx)


# --------------------------------------------------------------------------- middleware kits


def _groove(request: web.Request) -> str | None:
    """The Groove request name of a GET /groove (None for anything else)."""
    if request.path != "/groove" or request.method != "GET":
        return None
    return request.query.get("request", "")


def _error(exc: BaseException, q: Query) -> web.Response:
    return json_response(error_body(exc, q.get("apiversion", "")))


async def _handle(request: web.Request, q: Query) -> web.Response:
    """Run the real handler on query ``q``, authenticated as the request that was actually sent."""
    sent = dict(request.query)
    name = sent["request"]
    caller = _caller(request, sent)
    try:
        body, _ = await HANDLERS[name](request.app[SERVICE], q, caller)
        body["apiversion"] = sent.get("apiversion", "")
    except Exception as exc:
        return _error(exc, sent)
    return json_response(body)


QueryRewrite = Callable[[str, Query], Query | web.Response | None]


def query_bug(make: Callable[[], QueryRewrite]) -> Callable[[], Middleware]:
    """The wallet reads the request wrongly: ``rewrite`` returns the query it acts on (None: as sent)
    or its own reply."""

    def factory() -> Middleware:
        rewrite = make()

        @web.middleware
        async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
            name = _groove(request)
            if name not in HANDLERS:
                return await handler(request)
            assert name is not None
            got = rewrite(name, dict(request.query))
            if got is None:
                return await handler(request)
            if isinstance(got, web.Response):
                return got
            return await _handle(request, got)

        return mw

    return factory


ReplyRewrite = Callable[[str, Query, Body], None]


def reply_bug(make: Callable[[], ReplyRewrite]) -> Callable[[], Middleware]:
    """The wallet answers wrongly: ``rewrite`` edits the real reply's body in place."""

    def factory() -> Middleware:
        rewrite = make()

        @web.middleware
        async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
            resp = await handler(request)
            if request.path != "/groove" or not isinstance(resp, web.Response) or resp.text is None:
                return resp
            body = loads(resp.text)
            rewrite(request.query.get("request", ""), dict(request.query), body)
            return json_response(body)

        return mw

    return factory


def _stateless(fn: Any) -> Callable[[], Any]:
    return lambda: fn


def _recode(body: Body, code: int, status: str, message: str) -> None:
    for k in [k for k in body if k not in ("apiversion",)]:
        del body[k]
    body.update(code=code, status=status, message=message)


# --------------------------------------------------------------------------- reply bugs

DROPPED = {
    "getaccount": "city",
    "getbalance": "game_mode",
    "wager": "accounttransactionid",
    "result": "walletTx",
    "wagerAndResult": "bonusWin",
    "rollback": "accounttransactionid",
    "jackpot": "realMoneyWin",
    "reversewin": "accounttransactionid",
    "rollbackrollback": "accounttransactionid",
}


def _drop_field(name: str, q: Query, body: Body) -> None:
    if body.get("code") != 200:
        body.pop("message", None)
    elif name == "wagerbybatch":
        for b in body.get("bets", []):
            b.pop("provider_transaction_id", None)
    elif name in DROPPED:
        body.pop(DROPPED[name], None)


def _out_of_money_as_110(name: str, q: Query, body: Body) -> None:
    for b in [body, *body.get("bets", [])]:
        if b.get("code") == 1006:
            b.update(code=110, status="Operation not allowed")


def _duplicate_not_flagged(name: str, q: Query, body: Body) -> None:
    for b in [body, *body.get("bets", [])]:
        if b.get("status") == certify.DUP:
            b["status"] = "Success"


def _amounts_as_strings(name: str, q: Query, body: Body) -> None:
    for k, v in body.items():
        if k in certify.MONEY_FIELDS and isinstance(v, int | Decimal):
            body[k] = money.wire(Decimal(v))


def _unknown_wager_as_110(name: str, q: Query, body: Body) -> None:
    if name == "rollback" and body.get("code") == 102:
        _recode(body, 110, "Operation not allowed", "no such wager")


def _racy_funds() -> Callable[[], Middleware]:
    """Check-then-debit without a lock: a wager refused for funds while others were in flight
    is answered as accepted (the balance it saw still covered it)."""

    def factory() -> Middleware:
        in_flight = [0]

        @web.middleware
        async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
            if _groove(request) != "wager":
                return await handler(request)
            in_flight[0] += 1
            try:
                resp = await handler(request)
                racing = in_flight[0] > 1
            finally:
                in_flight[0] -= 1
            if not racing or not isinstance(resp, web.Response) or resp.text is None:
                return resp
            body = loads(resp.text)
            if body.get("code") != 1006:
                return resp
            amount = money.parse(request.query["betamount"])
            fake = {
                "code": 200,
                "status": "Success",
                "accounttransactionid": uuid.uuid4().hex[:20],
                "realmoneybet": amount,
                "bonusmoneybet": money.ZERO,
                "apiversion": body.get("apiversion", ""),
            }
            return json_response(fake)

        return mw

    return factory


def _poisoned_by_wrong_round() -> ReplyRewrite:
    """Issue #14 defect 3: a rollback / reversewin refused for naming another round is remembered
    under its transaction id, so the correct one is a parameter mismatch forever."""
    refused: set[tuple[str, str]] = set()

    def rewrite(name: str, q: Query, body: Body) -> None:
        if name not in ("rollback", "reversewin"):
            return
        key = (name, q.get("transactionid", ""))
        if key in refused:
            _recode(body, 400, "Transaction parameter mismatch", "transaction id already used with another round")
        elif body.get("code") == 110:
            refused.add(key)

    return rewrite


def _no_win_of_wager_and_result() -> ReplyRewrite:
    """Issue #14 defect 4: reversewin looks for the win among results and jackpots only."""
    wr: set[str] = set()

    def rewrite(name: str, q: Query, body: Body) -> None:
        if name == "wagerAndResult" and body.get("code") == 200:
            wr.add(q.get("transactionid", ""))
        elif name == "reversewin" and q.get("transactionid") in wr:
            _recode(body, 102, "Wager not found", "no such transaction")

    return rewrite


# --------------------------------------------------------------------------- query bugs


def _session_id_ignored() -> Middleware:
    """One session per account, the first one seen; the session id sent is not checked (and an
    unknown account is taken to be the session's owner).

    getbalance does notice a session that died, but answers it ``1003`` instead of ``1000`` (so
    certify's wait for the expiring session, a getbalance loop, is not kept waiting).
    """
    session_of: dict[str, str] = {}
    owner_of: dict[str, str] = {}

    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = _groove(request)
        if name not in ("getaccount", "getbalance", "wager"):
            return await handler(request)
        q = dict(request.query)
        account, session = q.get("accountid", ""), q.get("gamesessionid", "")
        found = await request.app[SERVICE].store.read(lambda tx: tx.get_session(session))
        own = found is not None and found.account_id == account
        if not (own and name == "getbalance"):
            if account in session_of and session_of[account] != session:
                return await _handle(request, q | {"gamesessionid": session_of[account]})
            if account not in session_of and session in owner_of:
                return await _handle(request, q | {"accountid": owner_of[session]})
        resp = await handler(request)
        got = loads(resp.text).get("code") if isinstance(resp, web.Response) and resp.text is not None else None
        if got == 200:
            session_of.setdefault(account, session)
            owner_of.setdefault(session, account)
        elif got == 1000 and own and name == "getbalance":
            return _error(E.AuthenticationFailed("session no longer valid"), q)
        return resp

    return mw


def _lenient_amounts(name: str, q: Query) -> Query | web.Response | None:
    """Any text Decimal() reads is an amount, cut to 10 places (NaN and Infinity crash it)."""
    if name != "wager" or "betamount" not in q:
        return None
    try:
        value = Decimal(q["betamount"])
    except InvalidOperation:
        return None
    if not value.is_finite():
        return _error(RuntimeError("invalid decimal operation"), q)
    if abs(value) >= Decimal(10) ** 22:
        return _error(E.OutOfMoney("insufficient funds"), q)  # parsed, then refused for funds
    return q | {"betamount": money.wire(value.quantize(certify.QUANTUM, rounding=ROUND_DOWN))}


def _absolute_amounts(name: str, q: Query) -> Query | None:
    for k in AMOUNT_KEYS:
        if q.get(k, "").startswith("-"):
            return q | {k: q[k][1:]}
    return None


def _missing_amount_is_zero(name: str, q: Query) -> Query | None:
    return q | {"betamount": "0"} if name == "wager" and "betamount" not in q else None


def _any_gamestatus(name: str, q: Query) -> Query | None:
    if name == "result" and q.get("gamestatus") not in ("completed", "pending"):
        return q | {"gamestatus": "completed"}
    return None


def _frbid_ignored(name: str, q: Query) -> Query | None:
    return {k: v for k, v in q.items() if k != "frbid"} if "frbid" in q else None


def _free_rounds_refused(name: str, q: Query) -> web.Response | None:
    return _error(E.OperationNotAllowed("free rounds are not supported"), q) if "frbid" in q else None


def _amounts_rounded(places: int) -> Callable[[str, Query], Query | None]:
    quantum = Decimal(1).scaleb(-places)

    def rewrite(name: str, q: Query) -> Query | None:
        keys = [k for k in AMOUNT_KEYS if k in q]
        if not keys:
            return None
        return q | {k: money.wire(Decimal(q[k]).quantize(quantum, rounding=ROUND_DOWN)) for k in keys}

    return rewrite


def _float_amounts(name: str, q: Query) -> Query | None:
    keys = [k for k in AMOUNT_KEYS if k in q]
    return q | {k: money.wire(Decimal(repr(float(q[k])))) for k in keys} if keys else None


def _round_from_transaction() -> QueryRewrite:
    """rollback / reversewin find their transaction by id alone: the roundid sent is not checked."""
    round_of: dict[tuple[str, str], str] = {}

    def rewrite(name: str, q: Query) -> Query | None:
        tx, rnd = q.get("transactionid", ""), q.get("roundid", "")
        if name in ("wager", "result"):
            round_of.setdefault((name, tx), rnd)
        target = {"rollback": "wager", "reversewin": "result"}.get(name)
        if target is not None and (target, tx) in round_of:
            return q | {"roundid": round_of[(target, tx)]}
        return None

    return rewrite


# --------------------------------------------------------------------------- Tx bugs


class _TxProxy:
    def __init__(self, inner: Tx) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def load_bet(self, q: BetQuery) -> BetRows:
        # composed from this proxy's point reads, so that a bug planted in one of them shows
        return await load_bet_by_reads(cast(Tx, self), q)

    async def load_settle(self, q: BetQuery) -> SettleRows:
        return await load_settle_by_reads(cast(Tx, self), q)

    async def load_view(self, account_id: str, session_id: str) -> ViewRows:
        return await load_view_by_reads(cast(Tx, self), account_id, session_id)


class RoundsNeverClose(_TxProxy):
    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None:
        rnd = await self._inner.get_round(account_id, game_id, round_id)
        return replace(rnd, status="open", closed_at=None) if rnd is not None else None


class ResultsNotCounted(_TxProxy):
    """A round forgets its results: a rollback after a result refunds the settled wager."""

    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None:
        rnd = await self._inner.get_round(account_id, game_id, round_id)
        return replace(rnd, results=0) if rnd is not None else None


class EveryRoundHasAWager(_TxProxy):
    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None:
        rnd = await self._inner.get_round(account_id, game_id, round_id)
        if rnd is not None:
            return rnd
        player = await self._inner.get_player(account_id)
        currency = player.currency if player is not None else "EUR"
        return Round(account_id, game_id, round_id, currency, wagers=1)


class NoTombstones(_TxProxy):
    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> TxRecord | None:
        rec = await self._inner.get_tx(operator_id, scope, kind, transaction_id)
        return None if rec is not None and rec.state == "tombstone" else rec

    async def get_txs(
        self, operator_id: str, scope: str, transaction_id: str, kinds: Sequence[str]
    ) -> dict[str, TxRecord]:
        found = await self._inner.get_txs(operator_id, scope, transaction_id, kinds)
        return {k: r for k, r in found.items() if r.state != "tombstone"}


class LimitsIgnored(_TxProxy):
    async def get_limits(self, account_id: str) -> Limits | None:
        return None


class RefundsToReal(_TxProxy):
    """A rollback refunds the whole stake to the real balance, whatever the bonus part was."""

    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> TxRecord | None:
        rec = await self._inner.get_tx(operator_id, scope, kind, transaction_id)
        return rec if rec is None else self._all_real(rec)

    async def get_txs(
        self, operator_id: str, scope: str, transaction_id: str, kinds: Sequence[str]
    ) -> dict[str, TxRecord]:
        found = await self._inner.get_txs(operator_id, scope, transaction_id, kinds)
        return {k: self._all_real(r) for k, r in found.items()}

    @staticmethod
    def _all_real(rec: TxRecord) -> TxRecord:
        if rec.kind != "wager" or not rec.ok:
            return rec
        return replace(rec, real=money.add(rec.real, rec.bonus), bonus=money.ZERO)


def _tx(cls: type[_TxProxy]) -> Callable[[Tx], Tx]:
    return lambda tx: cls(tx)


# --------------------------------------------------------------------------- service bugs


class SignatureNotChecked(WalletService):
    def _authenticate(self, op: Any, caller: Caller) -> Any:
        if op is None:
            raise E.NotLoggedOn("unknown operator")
        return op


class SignatureCaseSensitive(WalletService):
    def _authenticate(self, op: Any, caller: Caller) -> Any:
        if caller.signature and caller.signature != caller.signature.lower():
            raise E.InvalidSignature("invalid signature")
        return super()._authenticate(op, caller)


MoneyCmd = Wager | WagerAndResult | Result | Jackpot | Rollback | ReverseWin | RollbackRollback


class MismatchReplayed(WalletService):
    """A transaction id is looked up alone: a reuse with another account or amount replays the first."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._first: dict[tuple[str, str], MoneyCmd] = {}

    async def _keyed(self, kind: str, cmd: Any, call: Callable[[Any], Awaitable[MoneyOutcome]]) -> MoneyOutcome:
        first = self._first.setdefault((kind, cmd.transaction_id), cmd)
        try:
            return await call(cmd)
        except E.ParameterMismatch:
            return await call(first)

    async def wager(self, cmd: Wager, caller: Caller) -> MoneyOutcome:
        return await self._keyed("wager", cmd, lambda c: super(MismatchReplayed, self).wager(c, caller))

    async def wager_and_result(self, cmd: WagerAndResult, caller: Caller) -> MoneyOutcome:
        return await self._keyed("wr", cmd, lambda c: super(MismatchReplayed, self).wager_and_result(c, caller))

    async def result(self, cmd: Result, caller: Caller) -> MoneyOutcome:
        return await self._keyed("result", cmd, lambda c: super(MismatchReplayed, self).result(c, caller))

    async def jackpot(self, cmd: Jackpot, caller: Caller) -> MoneyOutcome:
        return await self._keyed("jackpot", cmd, lambda c: super(MismatchReplayed, self).jackpot(c, caller))

    async def rollback(self, cmd: Rollback, caller: Caller) -> MoneyOutcome:
        return await self._keyed("rollback", cmd, lambda c: super(MismatchReplayed, self).rollback(c, caller))

    async def reverse_win(self, cmd: ReverseWin, caller: Caller) -> MoneyOutcome:
        return await self._keyed("reversewin", cmd, lambda c: super(MismatchReplayed, self).reverse_win(c, caller))

    async def rollback_rollback(self, cmd: RollbackRollback, caller: Caller) -> MoneyOutcome:
        return await self._keyed("rr", cmd, lambda c: super(MismatchReplayed, self).rollback_rollback(c, caller))


class RefusalsForgotten(WalletService):
    """Only accepted wagers are remembered: a refused one sent again is decided afresh."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._refused: set[str] = set()

    async def wager(self, cmd: Wager, caller: Caller) -> MoneyOutcome:
        sent = cmd.transaction_id
        if sent in self._refused:
            cmd = replace(cmd, transaction_id=f"{sent}~{secrets.token_hex(4)}")
        try:
            return await super().wager(cmd, caller)
        except E.Refusal:
            self._refused.add(sent)
            raise


# --------------------------------------------------------------------------- the bugs

CODE = r"expected code {want}(?: or \d+)*, got {got}\b"


def code(want: int | str, got: int | str = r"\d+") -> str:
    return CODE.format(want=want, got=got)


DROPS_A_REPLY_FIELD = Bug(
    "drops-a-reply-field",
    r"lacks \[|has no|must carry a 'message'",
    middleware=reply_bug(_stateless(_drop_field)),
)
SESSION_ID_IGNORED = Bug("session-id-ignored", code(1000, "(?:200|1003)"), middleware=_session_id_ignored)
SESSION_CHECKED_ON_SETTLING = Bug("session-checked-on-settling", r"got 1000", service=SessionCheckedOnSettling)
OUT_OF_MONEY_AS_110 = Bug("out-of-money-as-110", r"1006", middleware=reply_bug(_stateless(_out_of_money_as_110)))
REFUSALS_FORGOTTEN = Bug("refusals-forgotten", r"got 200", service=RefusalsForgotten)
LIMITS_IGNORED = Bug("limits-ignored", code(1019, 200), wrap_tx=_tx(LimitsIgnored))
RACY_FUNDS = Bug("racy-funds", r"accepted, expected exactly", middleware=_racy_funds())
DUPLICATE_NOT_FLAGGED = Bug(
    "duplicate-not-flagged",
    r"'Success - duplicate request'|answered 'Success'",
    middleware=reply_bug(_stateless(_duplicate_not_flagged)),
)
DOUBLE_DEBIT_ON_DUPLICATE = Bug("double-debit-on-duplicate", r"money must move once", service=DoubleDebitOnDuplicate)
MISMATCH_REPLAYED = Bug("mismatch-replayed", r"400", service=MismatchReplayed)
SIGNATURE_NOT_CHECKED = Bug("signature-not-checked", code(1001, 200), service=SignatureNotChecked)
SIGNATURE_CASE_SENSITIVE = Bug("signature-case-sensitive", code(200, 1001), service=SignatureCaseSensitive)
LENIENT_AMOUNTS = Bug("lenient-amounts", code(1008), middleware=query_bug(_stateless(_lenient_amounts)))
ABSOLUTE_AMOUNTS = Bug("absolute-amounts", code(110, 200), middleware=query_bug(_stateless(_absolute_amounts)))
MISSING_AMOUNT_IS_ZERO = Bug(
    "missing-amount-is-zero", code(1008, 200), middleware=query_bug(_stateless(_missing_amount_is_zero))
)
ANY_GAMESTATUS = Bug("any-gamestatus", code(110, 200), middleware=query_bug(_stateless(_any_gamestatus)))
ROUNDS_NEVER_CLOSE = Bug("rounds-never-close", code(409, 200), wrap_tx=_tx(RoundsNeverClose))
EVERY_ROUND_HAS_A_WAGER = Bug("every-round-has-a-wager", code(102, 200), wrap_tx=_tx(EveryRoundHasAWager))
RESULTS_NOT_COUNTED = Bug("results-not-counted", code(110, 200), wrap_tx=_tx(ResultsNotCounted))
UNKNOWN_WAGER_AS_110 = Bug(
    "unknown-wager-as-110", code(102, 110), middleware=reply_bug(_stateless(_unknown_wager_as_110))
)
NO_TOMBSTONES = Bug("no-tombstones", code(409, 200), wrap_tx=_tx(NoTombstones))
REFUNDS_TO_REAL = Bug("refunds-to-real", r"each balance gets its part back", wrap_tx=_tx(RefundsToReal))
ROUND_FROM_TRANSACTION = Bug("round-from-transaction", code(110, 200), middleware=query_bug(_round_from_transaction))
POISONED_BY_WRONG_ROUND = Bug("poisoned-by-wrong-round", code(200, 400), middleware=reply_bug(_poisoned_by_wrong_round))
NO_WIN_OF_WAGER_AND_RESULT = Bug(
    "no-win-of-wager-and-result", code(200, 102), middleware=reply_bug(_no_win_of_wager_and_result)
)
FREE_ROUNDS_REFUSED = Bug("free-rounds-refused", code(200, 110), middleware=query_bug(_stateless(_free_rounds_refused)))
FRBID_IGNORED = Bug("frbid-ignored", code(r"\d+", r"(?:200|102)"), middleware=query_bug(_stateless(_frbid_ignored)))
AMOUNTS_AS_STRINGS = Bug(
    "amounts-as-strings", r"must be a JSON number", middleware=reply_bug(_stateless(_amounts_as_strings))
)
EIGHT_DECIMALS = Bug("eight-decimals", r", sent ", middleware=query_bug(_stateless(_amounts_rounded(8))))
FLOAT_AMOUNTS = Bug("float-amounts", r", sent ", middleware=query_bug(_stateless(_float_amounts)))
