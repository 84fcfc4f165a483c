"""A tiny Hub88 operator wallet, in memory, honest to ``shared/reference/hub88-wallet-api.md``.

It stands in for our Hub88 face until that exists, so ``certify --protocol hub88`` can be tested
against a wallet that gets every rule right, and against broken variants (``bug=...``) that it
must fail.  It parses with the server's own wire models and verifies with the server's own
signature check (``groove_adapter.hub88``), in the reference's processing order (section 6):
signature, syntax/types, idempotency on ``transaction_uuid``, token (bet), currency, funds.
Amounts are kept as Hub88 integers (x 100 000); every handler runs without awaiting between
its check and its change, so concurrent copies are applied once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from groove_adapter.hub88 import signature
from groove_adapter.hub88.wire import (
    MODELS,
    PATHS,
    BalanceIn,
    BetIn,
    Refused,
    Reply,
    RollbackIn,
    UserInfoIn,
    WinIn,
    echo_uuid,
    parse,
    refusal_reply,
)
from groove_adapter.jsonout import dumps, loads
from wallet_store.domain.hub88 import Status

BUGS = ("double_debit_duplicate", "token_checked_on_win", "rollback_unknown_refused", "unsigned_accepted")


@dataclass
class Account:
    user: str
    currency: str
    balance: int  # Hub88 units


@dataclass
class Record:
    """What a transaction_uuid was used for, and its outcome (replayed for an identical retry)."""

    details: dict[str, object]
    status: Status
    stake: int = 0
    rolled_back: bool = False


@dataclass
class FakeHub88Wallet:
    public_pem: str
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, tuple[str, bool]] = field(default_factory=dict)  # token -> (user, expired)
    bug: str | None = None
    records: dict[str, Record] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        assert self.bug is None or self.bug in BUGS
        self.key = signature.load_public_key(self.public_pem)

    def add_player(self, user: str, balance: int, currency: str = "EUR") -> None:
        self.accounts[user] = Account(user, currency, balance)

    def add_token(self, token: str, user: str, expired: bool = False) -> None:
        self.tokens[token] = (user, expired)

    # -- HTTP

    def app(self) -> web.Application:
        app = web.Application()
        for path in PATHS:
            app.router.add_post("/hub88" + path, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        endpoint = PATHS[request.path.removeprefix("/hub88")]
        if self.bug == "double_debit_duplicate":
            await asyncio.sleep(0.01)  # let concurrent copies interleave
        out = self.answer(endpoint, raw, request.headers.get(signature.HEADER))
        body = out if isinstance(out, dict) else out.wire()
        return web.Response(text=dumps(body), content_type="application/json")

    def answer(self, endpoint: str, raw: bytes, header: str | None) -> Reply | dict[str, Any]:
        if not signature.verify(self.key, raw, header) and not (self.bug == "unsigned_accepted" and not header):
            try:
                echo = echo_uuid(loads(raw))
            except ValueError:
                echo = None
            return Reply(status=Status.INVALID_SIGNATURE, request_uuid=echo)
        req = parse(MODELS[endpoint], raw)
        if isinstance(req, Refused):
            return refusal_reply(req)
        if isinstance(req, UserInfoIn):
            return self.info(req)
        if isinstance(req, BalanceIn):
            return self.balance(req)
        if isinstance(req, WinIn):
            return self.win(req)
        if isinstance(req, BetIn):
            return self.bet(req)
        assert isinstance(req, RollbackIn)
        return self.rollback(req)

    # -- endpoints

    def reply(self, status: Status, req: Any, user: str | None) -> Reply:
        acc = self.accounts.get(user or "")
        if acc is None:
            return Reply(status=status if status is not Status.OK else Status.UNKNOWN, request_uuid=req.request_uuid)
        return Reply(
            status=status, request_uuid=req.request_uuid, user=acc.user, currency=acc.currency, balance=acc.balance
        )

    def info(self, req: UserInfoIn) -> dict[str, Any]:
        if req.user not in self.accounts:
            return {"status": Status.UNKNOWN.value, "request_uuid": req.request_uuid, "user": req.user}
        return {"user": req.user, "status": "RS_OK", "request_uuid": req.request_uuid, "country": "EE"}

    def token_status(self, token: str, user: str | None) -> Status | None:
        owner = self.tokens.get(token)
        if owner is None or (user is not None and owner[0] != user):
            return Status.INVALID_TOKEN
        return Status.TOKEN_EXPIRED if owner[1] else None

    def balance(self, req: BalanceIn) -> Reply:
        bad = self.token_status(req.token, req.user)
        user = req.user or self.tokens.get(req.token, ("", False))[0]
        return self.reply(bad or Status.OK, req, user)

    def replay(self, req: BetIn | WinIn | RollbackIn) -> Reply | None:
        seen = self.records.get(req.transaction_uuid)
        if seen is None:
            return None
        if seen.details != req.details():
            return self.reply(Status.DUPLICATE_TRANSACTION, req, req.user)
        if self.bug == "double_debit_duplicate" and isinstance(req, BetIn) and not isinstance(req, WinIn):
            self.accounts[req.user].balance -= req.amount
        return self.reply(seen.status, req, req.user)

    def remember(self, req: BetIn | WinIn | RollbackIn, status: Status, stake: int = 0) -> Reply:
        self.records[req.transaction_uuid] = Record(req.details(), status, stake)
        return self.reply(status, req, req.user)

    def bet(self, req: BetIn) -> Reply:
        if (seen := self.replay(req)) is not None:
            return seen
        bad = self.token_status(req.token, req.user)
        if bad is not None:
            return self.reply(bad, req, req.user)  # not remembered: a token problem is not the bet's outcome
        acc = self.accounts[req.user]
        if req.transaction_uuid in self.tombstones:
            return self.remember(req, Status.DUPLICATE_TRANSACTION)
        if req.currency != acc.currency:
            return self.remember(req, Status.WRONG_CURRENCY)
        if req.amount > acc.balance:
            return self.remember(req, Status.NOT_ENOUGH_MONEY)
        acc.balance -= req.amount
        return self.remember(req, Status.OK, req.amount)

    def win(self, req: WinIn) -> Reply:
        if (seen := self.replay(req)) is not None:
            return seen
        if self.bug == "token_checked_on_win" and (bad := self.token_status(req.token, req.user)):
            return self.reply(bad, req, req.user)
        acc = self.accounts.get(req.user)
        if acc is None:
            return self.reply(Status.UNKNOWN, req, None)
        if req.currency != acc.currency:
            return self.remember(req, Status.WRONG_CURRENCY)
        bet = self.records.get(req.reference_transaction_uuid)
        if bet is None or bet.details.get("kind") != "bet" or bet.status is not Status.OK or bet.rolled_back:
            return self.reply(Status.TRANSACTION_DOES_NOT_EXIST, req, req.user)
        acc.balance += req.amount
        return self.remember(req, Status.OK)

    def rollback(self, req: RollbackIn) -> Reply:
        if (seen := self.replay(req)) is not None:
            return seen
        acc = self.accounts.get(req.user)
        if acc is None:
            return self.reply(Status.UNKNOWN, req, None)
        bet = self.records.get(req.reference_transaction_uuid)
        if bet is None:
            if self.bug == "rollback_unknown_refused":
                return self.reply(Status.TRANSACTION_DOES_NOT_EXIST, req, req.user)
            self.tombstones.add(req.reference_transaction_uuid)
        elif bet.details.get("kind") == "bet" and bet.status is Status.OK and not bet.rolled_back:
            bet.rolled_back = True
            acc.balance += bet.stake
        return self.remember(req, Status.OK)
