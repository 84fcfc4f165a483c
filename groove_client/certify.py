"""``groove-wallet certify``: play the aggregator against any ``/groove`` endpoint.

Every rule of the Groove transaction API (``shared/reference/groove-transaction-api.md``)
is one or more *scenarios*.  A scenario sends real requests, checks the replies and proves
with ``getbalance`` before and after that money moved exactly as the rule says (once, or not
at all).  Each scenario is reported as pass / fail / skip with every request it sent and
every reply it got; the report is text, JSON or JUnit XML.

What ``/groove`` cannot create comes from arguments (``--account --session`` and the
optional ``--second-account --second-session``, ``--expired-session``, ``--frbid``,
``--secret``) or, against this service, from its admin API (``--admin-token``): a fresh
operator with a signing secret, players, sessions (one that expires during the run, one
that is logged out), a blocked player, a bet limit and a free-round award.

Where the protocol leaves a choice open, a scenario accepts every answer the protocol
allows (e.g. ``409`` or ``110`` for a wager that arrives after its rollback); what it never
accepts is money moving when it must not, or twice.  Where the rule names one answer, only
that answer passes (a wallet that refuses a malformed amount with anything but ``1008`` has
read the amount).  Every scenario is proven to fail a wallet that gets its rule wrong
(``tests/test_certify_bugs.py``).

Nothing here imports the service: this is a client, usable against anyone's wallet.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal, Protocol, TypeVar
from xml.etree import ElementTree as ET

import aiohttp
from yarl import URL

from . import money
from .jsonio import dumps

DUP = "Success - duplicate request"
QUANTUM = Decimal("0.0000000001")

# Status strings of the protocol's error table, by code (compared case-insensitively).
STATUS: dict[int, tuple[str, ...]] = {
    200: ("Success", DUP),
    1: ("Technical error",),
    102: ("Wager not found",),
    110: ("Operation not allowed",),
    400: ("Transaction parameter mismatch",),
    409: ("Round closed or transaction ID exists",),
    1000: ("Not logged on",),
    1001: ("Invalid signature",),
    1003: ("Authentication failed",),
    1006: ("Out of money",),
    1007: ("Unknown currency",),
    1008: ("Parameter required",),
    1019: ("Gaming limit",),
    1035: ("Account blocked",),
}

# Reply fields that are Decimal(32,10) amounts.
MONEY_FIELDS = frozenset(
    {
        "balance",
        "real_balance",
        "bonus_balance",
        "realmoneybet",
        "bonusmoneybet",
        "realMoneyWin",
        "bonusWin",
        "real_money_bet",
        "bonus_money_bet",
    }
)

# Reply fields beyond code/status/apiversion, per request (the spec's table).
REPLY_FIELDS: dict[str, tuple[str, ...]] = {
    "getaccount": (
        "accountid",
        "city",
        "country",
        "currency",
        "gamesessionid",
        "real_balance",
        "bonus_balance",
        "game_mode",
        "order",
    ),
    "getbalance": ("balance", "real_balance", "bonus_balance", "game_mode", "order"),
    "wager": (
        "accounttransactionid",
        "balance",
        "real_balance",
        "bonus_balance",
        "realmoneybet",
        "bonusmoneybet",
        "game_mode",
        "order",
    ),
    "result": (
        "walletTx",
        "balance",
        "real_balance",
        "bonus_balance",
        "realMoneyWin",
        "bonusWin",
        "game_mode",
        "order",
    ),
    "wagerAndResult": (
        "accounttransactionid",
        "walletTx",
        "balance",
        "real_balance",
        "bonus_balance",
        "realmoneybet",
        "bonusmoneybet",
        "realMoneyWin",
        "bonusWin",
    ),
    "rollback": ("accounttransactionid", "balance", "real_balance", "bonus_balance", "game_mode", "order"),
    "jackpot": (
        "walletTx",
        "balance",
        "real_balance",
        "bonus_balance",
        "realMoneyWin",
        "bonusWin",
        "game_mode",
        "order",
    ),
    "reversewin": ("accounttransactionid", "balance", "real_balance", "bonus_balance"),
    "rollbackrollback": ("accounttransactionid", "balance", "real_balance", "bonus_balance"),
    "wagerbybatch": ("balance", "real_balance", "bonus_balance", "bets"),
}
BATCH_BET_FIELDS = ("transaction_id", "provider_transaction_id", "real_money_bet", "bonus_money_bet", "code", "status")

# The transaction id a money reply identifies itself by.
ID_FIELD: dict[str, str] = {
    "wager": "accounttransactionid",
    "result": "walletTx",
    "wagerAndResult": "accounttransactionid",
    "rollback": "accounttransactionid",
    "jackpot": "walletTx",
    "reversewin": "accounttransactionid",
    "rollbackrollback": "accounttransactionid",
}
MONEY_REQUESTS = ("wager", "result", "wagerAndResult", "rollback", "jackpot", "reversewin", "rollbackrollback")
SETTLING = ("result", "rollback", "jackpot", "reversewin", "rollbackrollback")

# What a scenario may need beyond one funded account with a live session.
NEEDS_HELP: dict[str, str] = {
    "second": "a second account of the same operator: --second-account and --second-session (or --admin-token)",
    "expired": "an expired session of the account: --expired-session (or --admin-token)",
    "logged_out": "a logged-out (closed) session: only with --admin-token",
    "frbid": "a free-round award of the account: --frbid (or --admin-token)",
    "secret": "the operator's signing secret: --secret (or --admin-token, which creates a signing operator)",
    "admin": "the admin API: --admin-token (blocked accounts and gaming limits are set up through it)",
}


class CertifyError(Exception):
    """Setup failed: certification could not start (exit status 2)."""


class Failed(AssertionError):
    """A scenario's check failed."""


# --------------------------------------------------------------------------- config and report


@dataclass
class Config:
    url: str
    secret: str | None = None
    signature_scheme: str = "concat"  # "concat" (Groove) or "pairs" (docs/security.md)
    account: str | None = None
    session: str | None = None
    second_account: str | None = None
    second_session: str | None = None
    expired_session: str | None = None
    frbid: str | None = None
    admin_url: str | None = None
    admin_token: str | None = None
    currency: str = "EUR"
    game: str = "80102"
    device: str = "desktop"
    apiversion: str = "1.2"
    concurrency: int = 20
    timeout: float = 15.0
    only: list[str] = field(default_factory=list)
    expiry_seconds: int = 3
    min_balance: Decimal = Decimal("20")


@dataclass
class Exchange:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    http_status: int | None
    reply: str
    ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body": self.body,
            "http_status": self.http_status,
            "reply": self.reply,
            "ms": round(self.ms, 3),
        }

    def text(self) -> str:
        head = f"-> {self.method} {self.url}"
        if self.headers:
            head += "  [" + ", ".join(f"{k}: {v}" for k, v in self.headers.items()) + "]"
        lines = [head]
        if self.body is not None:
            lines.append(f"   body {self.body}")
        status = "no reply" if self.http_status is None else f"HTTP {self.http_status}"
        lines.append(f"<- {status} {self.reply}")
        return "\n".join(lines)


Status = Literal["pass", "fail", "skip"]


@dataclass
class ScenarioResult:
    id: str
    category: str
    title: str
    rule: str
    status: Status
    message: str = ""
    seconds: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "title": self.title,
            "rule": self.rule,
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 4),
            "exchanges": [e.to_json() for e in self.exchanges],
        }


@dataclass
class Report:
    url: str
    mode: str
    started: str
    seconds: float
    results: list[ScenarioResult]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("fail") == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "groove-wallet certify",
            "url": self.url,
            "mode": self.mode,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "summary": {
                "total": len(self.results),
                "passed": self.count("pass"),
                "failed": self.count("fail"),
                "skipped": self.count("skip"),
            },
            "scenarios": [r.to_json() for r in self.results],
        }


# --------------------------------------------------------------------------- money helpers


@dataclass(frozen=True)
class Bal:
    real: Decimal
    bonus: Decimal

    @property
    def total(self) -> Decimal:
        return money.add(self.real, self.bonus)

    def __add__(self, other: Bal) -> Bal:
        return Bal(money.add(self.real, other.real), money.add(self.bonus, other.bonus))

    def __sub__(self, other: Bal) -> Bal:
        return Bal(money.sub(self.real, other.real), money.sub(self.bonus, other.bonus))

    def __neg__(self) -> Bal:
        return Bal(money.sub(money.ZERO, self.real), money.sub(money.ZERO, self.bonus))

    def __str__(self) -> str:
        return f"real {money.wire(self.real)} + bonus {money.wire(self.bonus)}"


NOTHING = Bal(money.ZERO, money.ZERO)


def D(text: str) -> Decimal:
    return money.parse(text)


def W(value: Decimal) -> str:
    """An amount as it goes on the wire (query string or JSON number)."""
    return money.wire(value)


def floor10(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_DOWN)


def signature(secret: str, params: Mapping[str, str], scheme: str = "concat") -> str:
    """X-Groove-Signature: HMAC-SHA256 over the parameter values sorted by name ("concat").

    ``request`` is excluded and ``nogsgameid`` sorts as if it were named ``gameid``.  With
    ``scheme="pairs"``: over every ``name=value`` (``request`` included) sorted, joined by ``&``.
    """
    if scheme == "pairs":
        payload = "&".join(sorted(f"{k}={v}" for k, v in params.items()))
    else:
        items = sorted(("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request")
        payload = "".join(v for _, v in items)
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def parse_reply(text: str) -> tuple[Any, list[str]]:
    """JSON with exact Decimals; also returns every number token that breaks Decimal(32,10)."""
    bad: list[str] = []

    def number(token: str) -> Decimal:
        if "e" in token or "E" in token:
            bad.append(f"{token} (exponent)")
        whole, _, frac = token.lstrip("-").partition(".")
        if len(frac.split("e")[0].split("E")[0]) > 10:
            bad.append(f"{token} (more than 10 fractional digits)")
        if len(whole) > 22:
            bad.append(f"{token} (more than 22 integer digits)")
        return Decimal(token)

    def integer(token: str) -> int:
        if len(token.lstrip("-")) > 22:
            bad.append(f"{token} (more than 22 integer digits)")
        return int(token)

    def constant(name: str) -> Any:
        bad.append(f"{name} (not a number)")
        return None

    return json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant), bad


@dataclass
class Reply:
    request: str
    body: dict[str, Any]
    raw: str
    bad_numbers: list[str]

    @property
    def code(self) -> Any:
        return self.body.get("code")

    @property
    def status(self) -> Any:
        return self.body.get("status")

    def __getitem__(self, key: str) -> Any:
        if key not in self.body:
            raise Failed(f"{self.request} reply has no {key!r}: {self.raw[:300]}")
        return self.body[key]

    def get(self, key: str) -> Any:
        return self.body.get(key)

    def amount(self, key: str) -> Decimal:
        return as_amount(self[key], f"{self.request}.{key}")

    def balances(self) -> Bal:
        return Bal(self.amount("real_balance"), self.amount("bonus_balance"))

    def brief(self) -> str:
        return f"{self.code} {self.status!r}" + (f" ({self.body['message']})" if self.body.get("message") else "")


def as_amount(value: Any, what: str) -> Decimal:
    """An amount from a reply, leniently (the strict format check is its own scenario)."""
    if isinstance(value, bool) or value is None:
        raise Failed(f"{what} is {value!r}, not an amount")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            raise Failed(f"{what} is {value!r}, not an amount") from None
    raise Failed(f"{what} is {value!r}, not an amount")


# --------------------------------------------------------------------------- target (what the run plays with)


@dataclass
class DeadSession:
    """A session that is dead when the after-expiry scenarios run.

    ``before`` is the session to place wagers with while it is alive: the same id when we
    created it (admin API), the live session when we were given an already expired one.
    """

    kind: str
    session_id: str
    before: str
    dies_at: float = 0.0  # monotonic time; 0 = already dead
    close_path: str | None = None  # admin DELETE that logs it out


@dataclass
class Target:
    url: str
    account: str
    session: str
    game: str
    device: str
    apiversion: str
    secret: str | None = None
    signature_scheme: str = "concat"
    second_account: str | None = None
    second_session: str | None = None
    frbid: str | None = None
    dead: dict[str, DeadSession] = field(default_factory=dict)
    blocked_account: str | None = None
    blocked_session: str | None = None
    limit_account: str | None = None
    limit_session: str | None = None
    max_bet: Decimal | None = None
    admin: Admin | None = None
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    counter: int = 0

    @property
    def capabilities(self) -> set[str]:
        caps: set[str] = set(self.dead)
        if self.second_account and self.second_session:
            caps.add("second")
        if self.frbid:
            caps.add("frbid")
        if self.secret:
            caps.add("secret")
        if self.admin is not None and self.blocked_account and self.limit_account:
            caps.add("admin")
        return caps

    def next_id(self, tag: str) -> str:
        self.counter += 1
        return f"cert-{self.run}-{self.counter}-{tag}"


class Admin:
    """The service's admin API (setup only; its calls are not part of any scenario)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self._auth = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None, expect: Iterable[int] = (200, 201)) -> Any:
        try:
            async with self.http.request(method, self.base + path, json=body, headers=self._auth) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CertifyError(f"admin API {method} {path}: {exc!r}") from None
        if status not in tuple(expect):
            raise CertifyError(f"admin API {method} {path}: HTTP {status}: {text[:500]}")
        return json.loads(text) if text else None


# --------------------------------------------------------------------------- the per-scenario context


class Ctx:
    def __init__(self, http: aiohttp.ClientSession, t: Target, cfg: Config) -> None:
        self.http = http
        self.t = t
        self.cfg = cfg
        self.exchanges: list[Exchange] = []
        self.prepared: dict[str, Any] = {}

    # -- ids and parameters

    def tx(self, tag: str = "t") -> str:
        return self.t.next_id(tag)

    def rnd(self) -> str:
        return self.t.next_id("r")

    def common(self, account: str | None = None, session: str | None = None) -> dict[str, str]:
        return {
            "accountid": account or self.t.account,
            "gamesessionid": session or self.t.session,
            "device": self.t.device,
            "apiversion": self.t.apiversion,
        }

    def unknown_session(self) -> str:
        prefix = self.t.session.split("_", 1)[0] if "_" in self.t.session else "0"
        return f"{prefix}_certify-{uuid.uuid4()}"[:64]

    # -- checks

    @staticmethod
    def check(cond: bool, message: str) -> None:
        if not cond:
            raise Failed(message)

    def code(self, r: Reply, *codes: int, what: str = "") -> None:
        label = what or r.request
        if r.code not in codes:
            want = " or ".join(str(c) for c in codes)
            raise Failed(f"{label}: expected code {want}, got {r.brief()}")
        allowed = STATUS.get(int(r.code), ())
        if allowed and str(r.status).lower() not in {s.lower() for s in allowed}:
            raise Failed(f"{label}: code {r.code} with status {r.status!r}; the protocol's is {allowed[0]!r}")
        if r.code != 200:
            self.check(
                isinstance(r.body.get("message"), str),
                f"{label}: an error reply must carry a 'message' string: {r.raw[:300]}",
            )

    def ok(self, r: Reply, what: str = "") -> None:
        self.code(r, 200, what=what)
        self.check(r.status == "Success", f"{what or r.request}: expected status 'Success', got {r.status!r}")

    def dup(self, r: Reply, first: Reply, what: str = "") -> None:
        label = what or f"{r.request} sent again"
        self.code(r, 200, what=label)
        self.check(r.status == DUP, f"{label}: expected status {DUP!r}, got {r.status!r}")
        key = ID_FIELD.get(r.request)
        if key:
            self.check(
                r[key] == first[key],
                f"{label}: the replay must carry the original {key} {first[key]!r}, got {r[key]!r}",
            )

    def same(self, got: Bal, want: Bal, what: str) -> None:
        if got != want:
            raise Failed(f"{what}: balance is {got}, expected {want} (difference {got - want})")

    def fields(self, r: Reply, names: Iterable[str]) -> None:
        missing = [n for n in names if n not in r.body]
        self.check(not missing, f"{r.request} reply lacks {missing}: {r.raw[:300]}")

    def mode_order(self, r: Reply) -> None:
        if "game_mode" in r.body:
            self.check(r.body["game_mode"] in (1, 2), f"{r.request}: game_mode {r.body['game_mode']!r} is not 1 or 2")
        if "order" in r.body:
            parts = [p.strip() for p in str(r.body["order"]).split(",")]
            self.check(
                all(p in ("cash_money", "bonus_money") for p in parts),
                f"{r.request}: order {r.body['order']!r} is not cash_money / bonus_money",
            )

    def bet_split(
        self, r: Reply, amount: Decimal, real_key: str = "realmoneybet", bonus_key: str = "bonusmoneybet"
    ) -> Bal:
        split = Bal(r.amount(real_key), r.amount(bonus_key))
        self.check(
            split.real >= 0 and split.bonus >= 0, f"{r.request}: negative part in the split {real_key}/{bonus_key}"
        )
        self.check(split.total == amount, f"{r.request}: {real_key} + {bonus_key} = {W(split.total)}, sent {W(amount)}")
        return split

    def win_split(self, r: Reply, amount: Decimal) -> Bal:
        return self.bet_split(r, amount, "realMoneyWin", "bonusWin")

    # -- transport

    async def _send(
        self, method: str, url: URL, headers: dict[str, str], body: str | None, request: str, apiversion: str | None
    ) -> Reply:
        start = time.perf_counter()
        status: int | None = None
        text = ""
        try:
            kw: dict[str, Any] = {"headers": headers}
            if body is not None:
                kw["data"] = body.encode()
                kw["headers"] = headers | {"Content-Type": "application/json"}
            async with self.http.request(method, url, **kw) as resp:
                status = resp.status
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            text = f"<{type(exc).__name__}: {exc}>"
        ms = (time.perf_counter() - start) * 1000
        self.exchanges.append(Exchange(method, str(url), headers, body, status, text[:4000], ms))
        if status is None:
            raise Failed(f"{request}: no reply: {text}")
        if status != 200:
            raise Failed(f"{request}: HTTP {status} (every protocol answer is HTTP 200): {text[:300]}")
        try:
            parsed, bad = parse_reply(text)
        except ValueError as exc:
            raise Failed(f"{request}: reply is not JSON ({exc}): {text[:300]}") from None
        if not isinstance(parsed, dict):
            raise Failed(f"{request}: reply is not a JSON object: {text[:300]}")
        r = Reply(request, parsed, text, bad)
        self.check(isinstance(r.code, int) and not isinstance(r.code, bool), f"{request}: 'code' is not an integer")
        self.check(isinstance(r.status, str), f"{request}: 'status' is missing or not a string")
        if apiversion is not None:
            self.check(
                r.body.get("apiversion") == apiversion,
                f"{request}: apiversion {r.body.get('apiversion')!r} does not echo the request's {apiversion!r}",
            )
        return r

    def sign_header(self, params: Mapping[str, str], sig: str | bool | None) -> dict[str, str]:
        if sig is False:
            return {}
        if isinstance(sig, str):
            return {"X-Groove-Signature": sig}
        if self.t.secret:
            return {"X-Groove-Signature": signature(self.t.secret, params, self.t.signature_scheme)}
        return {}

    async def call(self, request: str, params: Mapping[str, str], sig: str | bool | None = None) -> Reply:
        """GET /groove?request=...; ``sig``: None signs when a secret is known, False sends none."""
        q = {"request": request, **params}
        url = URL(self.t.url).with_query(q)
        return await self._send("GET", url, self.sign_header(q, sig), None, request, params.get("apiversion"))

    async def batch_call(
        self, query: Mapping[str, str], body: Mapping[str, Any], sig: str | bool | None = None
    ) -> Reply:
        q = {"request": "wagerbybatch", **query}
        url = URL(self.t.url).with_query(q)
        return await self._send(
            "POST", url, self.sign_header(q, sig), dumps(body), "wagerbybatch", query.get("apiversion")
        )

    # -- requests

    async def balance(self, account: str | None = None, session: str | None = None) -> Bal:
        r = await self.call("getbalance", self.common(account, session) | {"nogsgameid": self.t.game})
        self.code(r, 200, what="getbalance (balance check)")
        return r.balances()

    def wager_q(
        self, amount: str | Decimal, rnd: str | None = None, tx: str | None = None, **kw: str | None
    ) -> dict[str, str]:
        q = self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd or self.rnd(),
            "transactionid": tx or self.tx("w"),
            "betamount": amount if isinstance(amount, str) else W(amount),
        }
        return q | {k: v for k, v in kw.items() if v is not None}

    async def wager(
        self, amount: str | Decimal, rnd: str | None = None, tx: str | None = None, **kw: str | None
    ) -> Reply:
        return await self.call("wager", self.wager_q(amount, rnd, tx, **kw))

    def result_q(
        self, rnd: str, win: str | Decimal, status: str = "completed", tx: str | None = None, **kw: str | None
    ) -> dict[str, str]:
        q = self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd,
            "transactionid": tx or self.tx("res"),
            "result": win if isinstance(win, str) else W(win),
            "gamestatus": status,
        }
        return q | {k: v for k, v in kw.items() if v is not None}

    async def result(
        self, rnd: str, win: str | Decimal, status: str = "completed", tx: str | None = None, **kw: str | None
    ) -> Reply:
        return await self.call("result", self.result_q(rnd, win, status, tx, **kw))

    def rollback_q(self, rnd: str, tx: str, amount: str | None = None, **kw: str | None) -> dict[str, str]:
        q = self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd,
            "transactionid": tx,
        }
        if amount is not None:
            q["rollbackamount"] = amount
        return q

    async def rollback(self, rnd: str, tx: str, amount: str | None = None, **kw: str | None) -> Reply:
        return await self.call("rollback", self.rollback_q(rnd, tx, amount, **kw))

    def jackpot_q(self, rnd: str, amount: str | Decimal, tx: str | None = None, **kw: str | None) -> dict[str, str]:
        return self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd,
            "transactionid": tx or self.tx("jp"),
            "amount": amount if isinstance(amount, str) else W(amount),
            "gamestatus": "completed",
        }

    def reversewin_q(self, rnd: str, tx: str, amount: str | Decimal, **kw: str | None) -> dict[str, str]:
        return self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd,
            "transactionid": tx,
            "amount": amount if isinstance(amount, str) else W(amount),
        }

    def rollbackrollback_q(self, rnd: str, tx: str, amount: str | Decimal, **kw: str | None) -> dict[str, str]:
        return self.common(kw.pop("account", None), kw.pop("session", None)) | {
            "gameid": self.t.game,
            "roundid": rnd,
            "transactionid": tx,
            "rollbackAmount": amount if isinstance(amount, str) else W(amount),
        }

    def wr_q(
        self, bet: str | Decimal, win: str | Decimal, rnd: str | None = None, tx: str | None = None, **kw: str | None
    ) -> dict[str, str]:
        q = self.wager_q(bet, rnd, tx or self.tx("wr"), **kw)
        q |= {"result": win if isinstance(win, str) else W(win), "gamestatus": "completed"}
        return q

    def batch_q(self, session: str | None = None, request_id: str | None = None) -> dict[str, str]:
        return {
            "request_id": request_id or self.tx("batch"),
            "gamesessionid": session or self.t.session,
            "gameid": self.t.game,
            "apiversion": self.t.apiversion,
        }

    def batch_body(
        self, bets: list[tuple[str, str, str]], account: str | None = None, session: str | None = None
    ) -> dict[str, Any]:
        return {
            "account_id": account or self.t.account,
            "game_id": self.t.game,
            "game_session_id": session or self.t.session,
            "device": self.t.device,
            "bets": [{"transaction_id": tx, "round_id": rnd, "amount": D(amount)} for tx, rnd, amount in bets],
        }

    # -- composite steps, each checked

    async def placed(self, amount: str | Decimal, rnd: str | None = None, **kw: str | None) -> tuple[str, str, Bal]:
        """A successful wager: (round, transaction id, split)."""
        rnd = rnd or self.rnd()
        tx = self.tx("w")
        r = await self.wager(amount, rnd, tx, **kw)
        self.ok(r, "wager (setup)")
        return rnd, tx, self.bet_split(r, amount if isinstance(amount, Decimal) else D(amount))

    async def paid(self, rnd: str, win: str, status: str = "completed", **kw: str | None) -> tuple[str, Bal]:
        tx = self.tx("res")
        r = await self.result(rnd, win, status, tx, **kw)
        self.ok(r, "result (setup)")
        return tx, self.win_split(r, D(win))


# --------------------------------------------------------------------------- scenario registry

ScenarioFn = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    id: str
    category: str
    title: str
    rule: str
    run: ScenarioFn
    needs: frozenset[str] = frozenset()
    prepare: ScenarioFn | None = None  # runs while the dead session is still alive
    dead: str | None = None  # the dead-session kind it needs; it runs after that session died


SCENARIOS: list[Scenario] = []


def add(
    id: str,
    title: str,
    rule: str,
    run: ScenarioFn,
    *,
    needs: Iterable[str] = (),
    prepare: ScenarioFn | None = None,
    dead: str | None = None,
) -> None:
    needs_set = frozenset(needs) | ({dead} if dead else frozenset())
    SCENARIOS.append(Scenario(id, id.split(".", 1)[0], title, rule, run, needs_set, prepare, dead))


# --------------------------------------------------------------------------- fields of each reply


async def _fields_getaccount(c: Ctx) -> None:
    r = await c.call("getaccount", c.common())
    c.ok(r)
    c.fields(r, REPLY_FIELDS["getaccount"])
    c.check(r["accountid"] == c.t.account, f"accountid {r['accountid']!r} is not the account {c.t.account!r}")
    c.check(r["gamesessionid"] == c.t.session, f"gamesessionid {r['gamesessionid']!r} is not the session sent")
    c.check(bool(re.fullmatch(r"[A-Z]{2}", str(r["country"]))), f"country {r['country']!r} is not ISO 3166-1 alpha-2")
    c.check(bool(re.fullmatch(r"[A-Z]{3}", str(r["currency"]))), f"currency {r['currency']!r} is not ISO 4217")
    c.mode_order(r)
    c.same(await c.balance(), r.balances(), "getbalance after getaccount")


async def _fields_getbalance(c: Ctx) -> None:
    r = await c.call("getbalance", c.common() | {"nogsgameid": c.t.game})
    c.ok(r)
    c.fields(r, REPLY_FIELDS["getbalance"])
    c.check(
        r.amount("balance") == r.balances().total,
        f"balance {W(r.amount('balance'))} is not real_balance + bonus_balance",
    )
    c.mode_order(r)


async def _fields_wager(c: Ctx) -> None:
    before = await c.balance()
    amount = D("1.25")
    r = await c.wager(amount)
    c.ok(r)
    c.fields(r, REPLY_FIELDS["wager"])
    c.mode_order(r)
    split = c.bet_split(r, amount)
    c.same(r.balances(), before - split, "wager reply balances")
    c.check(r.amount("balance") == r.balances().total, "wager: balance is not real_balance + bonus_balance")
    c.same(await c.balance(), before - split, "getbalance after the wager")


async def _fields_result(c: Ctx) -> None:
    rnd, _, _ = await c.placed("2")
    before = await c.balance()
    win = D("3.5")
    r = await c.result(rnd, win)
    c.ok(r)
    c.fields(r, REPLY_FIELDS["result"])
    c.mode_order(r)
    paid = c.win_split(r, win)
    c.same(r.balances(), before + paid, "result reply balances")
    c.same(await c.balance(), before + paid, "getbalance after the result")


async def _fields_wager_and_result(c: Ctx) -> None:
    before = await c.balance()
    bet, win = D("2"), D("1.75")
    r = await c.call("wagerAndResult", c.wr_q(bet, win))
    c.ok(r)
    c.fields(r, REPLY_FIELDS["wagerAndResult"])
    split = c.bet_split(r, bet)
    paid = c.win_split(r, win)
    c.same(r.balances(), before - split + paid, "wagerAndResult reply balances")
    c.same(await c.balance(), before - split + paid, "getbalance after wagerAndResult")


async def _fields_rollback(c: Ctx) -> None:
    before = await c.balance()
    rnd, tx, _ = await c.placed("1.5")
    r = await c.rollback(rnd, tx)
    c.ok(r)
    c.fields(r, REPLY_FIELDS["rollback"])
    c.mode_order(r)
    c.same(r.balances(), before, "rollback reply balances (the refund restores every balance)")
    c.same(await c.balance(), before, "getbalance after wager + rollback")


async def _fields_jackpot(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    r = await c.call("jackpot", c.jackpot_q(rnd, "10"))
    c.ok(r)
    c.fields(r, REPLY_FIELDS["jackpot"])
    paid = c.win_split(r, D("10"))
    c.same(r.balances(), before + paid, "jackpot reply balances")
    c.same(await c.balance(), before + paid, "getbalance after the jackpot")


async def _fields_reversewin(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    win_tx, paid = await c.paid(rnd, "4")
    before = await c.balance()
    r = await c.call("reversewin", c.reversewin_q(rnd, win_tx, "4"))
    c.ok(r)
    c.fields(r, REPLY_FIELDS["reversewin"])
    c.same(r.balances(), before - paid, "reversewin reply balances (takes back exactly what was paid)")
    c.same(await c.balance(), before - paid, "getbalance after reversewin")


async def _fields_rollbackrollback(c: Ctx) -> None:
    rnd, tx, split = await c.placed("1.5")
    c.ok(await c.rollback(rnd, tx), "rollback (setup)")
    before = await c.balance()
    r = await c.call("rollbackrollback", c.rollbackrollback_q(rnd, tx, "1.5"))
    c.ok(r)
    c.fields(r, REPLY_FIELDS["rollbackrollback"])
    c.same(r.balances(), before - split, "rollbackrollback reply balances (re-debits the wager's split)")
    c.same(await c.balance(), before - split, "getbalance after rollbackrollback")


def _batch_bets(c: Ctx, r: Reply, sent: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    bets = r["bets"]
    c.check(isinstance(bets, list) and len(bets) == len(sent), f"wagerbybatch: bets is not a list of {len(sent)}")
    by_tx = {}
    for b in bets:
        c.check(isinstance(b, dict), "wagerbybatch: a bet result is not an object")
        missing = [k for k in BATCH_BET_FIELDS if k not in b]
        c.check(not missing, f"wagerbybatch: bet result lacks {missing}: {b}")
        by_tx[b["transaction_id"]] = b
    c.check(set(by_tx) == {tx for tx, _, _ in sent}, "wagerbybatch: bet results do not name the bets sent")
    return [by_tx[tx] for tx, _, _ in sent]


def _bet_part(c: Ctx, b: dict[str, Any], amount: str) -> Bal:
    split = Bal(as_amount(b["real_money_bet"], "real_money_bet"), as_amount(b["bonus_money_bet"], "bonus_money_bet"))
    c.check(
        split.total == D(amount), f"wagerbybatch: bet {b['transaction_id']} split {split} does not add up to {amount}"
    )
    return split


async def _fields_wagerbybatch(c: Ctx) -> None:
    before = await c.balance()
    sent = [(c.tx("b"), c.rnd(), "1"), (c.tx("b"), c.rnd(), "2.5")]
    r = await c.batch_call(c.batch_q(), c.batch_body(sent))
    c.ok(r)
    c.fields(r, REPLY_FIELDS["wagerbybatch"])
    moved = NOTHING
    for b, (_, _, amount) in zip(_batch_bets(c, r, sent), sent, strict=True):
        c.check(b["code"] == 200 and b["status"] == "Success", f"wagerbybatch: bet {b['transaction_id']} was {b}")
        moved = moved + _bet_part(c, b, amount)
    c.same(r.balances(), before - moved, "wagerbybatch reply balances")
    c.same(await c.balance(), before - moved, "getbalance after wagerbybatch")


async def _fields_error(c: Ctx) -> None:
    r = await c.call("getbalance", c.common(session=c.unknown_session()) | {"nogsgameid": c.t.game})
    c.code(r, 1000)
    for k in ("code", "status", "message", "apiversion"):
        c.check(k in r.body, f"an error reply must carry {k!r}: {r.raw[:300]}")


RULE_FIELDS = "Requests table: the reply fields of each request; every reply carries code, status, apiversion"
add("fields.getaccount", "getaccount reply fields", RULE_FIELDS, _fields_getaccount)
add("fields.getbalance", "getbalance reply fields; balance = real + bonus", RULE_FIELDS, _fields_getbalance)
add("fields.wager", "wager reply fields; the bet split adds up", RULE_FIELDS, _fields_wager)
add("fields.result", "result reply fields; the win split adds up", RULE_FIELDS, _fields_result)
add("fields.wagerAndResult", "wagerAndResult reply fields (the union)", RULE_FIELDS, _fields_wager_and_result)
add("fields.rollback", "rollback reply fields; the refund restores the balances", RULE_FIELDS, _fields_rollback)
add("fields.jackpot", "jackpot reply fields", RULE_FIELDS, _fields_jackpot)
add("fields.reversewin", "reversewin reply fields", RULE_FIELDS, _fields_reversewin)
add("fields.rollbackrollback", "rollbackrollback reply fields", RULE_FIELDS, _fields_rollbackrollback)
add("fields.wagerbybatch", "wagerbybatch reply fields, per bet", RULE_FIELDS, _fields_wagerbybatch)
add("fields.error", "error replies carry code, status, message, apiversion", "Transport: error replies", _fields_error)


# --------------------------------------------------------------------------- sessions on reads and wagers

DEAD_NAME = {"expired": "an expired", "logged_out": "a logged-out"}
RULE_SESSION = "Sessions: getaccount, getbalance and wager need a live session of the account, else 1000"


def _session_case(request: str, kind: str) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        account, session = c.t.account, c.t.session
        codes: tuple[int, ...] = (1000,)
        if kind == "unknown":
            session = c.unknown_session()
        elif kind == "unknown_account":
            account = f"cert{secrets.token_hex(6)}"
        elif kind == "foreign":
            assert c.t.second_session is not None
            session = c.t.second_session
            if request == "getaccount":
                codes = (1000, 1003)  # the error table's 1003 for getaccount, or the rules' 1000
        else:
            session = c.t.dead[kind].session_id
        before = await c.balance()
        second_before = await c.balance(c.t.second_account, c.t.second_session) if kind == "foreign" else None
        q = c.common(account, session)
        if request == "getbalance":
            q["nogsgameid"] = c.t.game
        elif request == "wager":
            q = c.wager_q("1", account=account, session=session)
        r = await c.call(request, q)
        c.code(r, *codes)
        c.same(await c.balance(), before, f"the account after a {request} with a bad session")
        if second_before is not None:
            c.same(
                await c.balance(c.t.second_account, c.t.second_session),
                second_before,
                "the session's owner after a wager with their session",
            )

    return run


for _req in ("getaccount", "getbalance", "wager"):
    add(
        f"session.{_req}.unknown", f"{_req} with an unknown session: 1000", RULE_SESSION, _session_case(_req, "unknown")
    )
    add(
        f"session.{_req}.foreign",
        f"{_req} with another account's session: refused" + (" (1000/1003)" if _req == "getaccount" else ": 1000"),
        RULE_SESSION,
        _session_case(_req, "foreign"),
        needs=["second"],
    )
    for _kind in ("expired", "logged_out"):
        add(
            f"session.{_req}.{_kind}",
            f"{_req} with {DEAD_NAME[_kind]} session: 1000",
            RULE_SESSION,
            _session_case(_req, _kind),
            dead=_kind,
        )
add(
    "session.getbalance.unknown_account",
    "getbalance naming an unknown account with a live session: 1000",
    RULE_SESSION,
    _session_case("getbalance", "unknown_account"),
)


# --------------------------------------------------------------------------- settling after the session died

RULE_EXPIRY = (
    "Sessions: result, rollback, jackpot, reversewin, rollbackrollback must succeed after the session "
    "expired or the player logged out: 1000 is never a valid answer to them"
)


def _expiry_case(request: str, kind: str) -> tuple[ScenarioFn, ScenarioFn]:
    async def prepare(c: Ctx) -> None:
        d = c.t.dead[kind]
        rnd, tx, split = await c.placed("1", session=d.before)
        c.prepared.update(rnd=rnd, tx=tx, split=split)
        if request == "reversewin":
            win_tx, paid = await c.paid(rnd, "3", session=d.before)
            c.prepared.update(win_tx=win_tx, paid=paid)
        elif request == "rollbackrollback":
            c.ok(await c.rollback(rnd, tx, session=d.before), "rollback (setup)")

    async def run(c: Ctx) -> None:
        if "rnd" not in c.prepared:
            raise Failed("the preparation before the session died did not complete")
        dead = c.t.dead[kind].session_id
        rnd, tx, split = c.prepared["rnd"], c.prepared["tx"], c.prepared["split"]
        before = await c.balance()
        if request == "result":
            r = await c.result(rnd, "2", session=dead)
            c.ok(r)
            want = before + c.win_split(r, D("2"))
        elif request == "rollback":
            r = await c.rollback(rnd, tx, session=dead)
            c.ok(r)
            want = before + split
        elif request == "jackpot":
            r = await c.call("jackpot", c.jackpot_q(rnd, "5", session=dead))
            c.ok(r)
            want = before + c.win_split(r, D("5"))
        elif request == "reversewin":
            r = await c.call("reversewin", c.reversewin_q(rnd, c.prepared["win_tx"], "3", session=dead))
            c.ok(r)
            want = before - c.prepared["paid"]
        else:
            r = await c.call("rollbackrollback", c.rollbackrollback_q(rnd, tx, "1", session=dead))
            c.ok(r)
            want = before - split
        c.same(await c.balance(), want, f"getbalance after the {request} on the dead session")

    return prepare, run


for _kind in ("expired", "logged_out"):
    for _req in SETTLING:
        _prep, _run = _expiry_case(_req, _kind)
        add(
            f"expiry.{_req}.{_kind}",
            f"{_req} with {DEAD_NAME[_kind]} session (wager placed while it was live): 200",
            RULE_EXPIRY,
            _run,
            prepare=_prep,
            dead=_kind,
        )


async def _settle_unknown_account(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    r = await c.result(rnd, "2", account=f"cert{secrets.token_hex(6)}")
    c.code(r, 110)
    c.same(await c.balance(), before, "the account after a result naming an unknown account")


async def _settle_foreign_session(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    second_before = await c.balance(c.t.second_account, c.t.second_session)
    r = await c.result(rnd, "2", session=c.t.second_session)
    c.code(r, 110)
    c.same(await c.balance(), before, "the account after a result with another account's session")
    c.same(await c.balance(c.t.second_account, c.t.second_session), second_before, "the session's owner")


add(
    "expiry.result.unknown_account",
    "result naming an unknown account: 110",
    "Sessions: settling calls must still name an account that exists (110 unknown account)",
    _settle_unknown_account,
)
add(
    "expiry.result.foreign_session",
    "result with another account's session: 110",
    "Error codes: 110 for an account/session mismatch on money calls",
    _settle_foreign_session,
    needs=["second"],
)


# --------------------------------------------------------------------------- funds

RULE_FUNDS = "Wager: checks in order session, blocked (1035), amount (110), round (409), limits (1019), funds (1006)"


async def _funds_insufficient(c: Ctx) -> None:
    before = await c.balance()
    r = await c.wager(money.add(before.total, D("1")))
    c.code(r, 1006)
    c.same(await c.balance(), before, "after a wager above the balance")


async def _funds_whole_balance(c: Ctx) -> None:
    before = await c.balance()
    rnd, tx, _ = await c.placed(before.total)
    c.same(await c.balance(), NOTHING, "after wagering the whole balance")
    r = await c.wager("0.0000000001")
    c.code(r, 1006, what="a wager of 0.0000000001 on an empty balance")
    c.ok(await c.rollback(rnd, tx), "rollback of the whole-balance wager")
    c.same(await c.balance(), before, "after the rollback")


async def _funds_refusal_remembered(c: Ctx) -> None:
    start = await c.balance()
    too_much = money.add(start.total, D("1"))
    q = c.wager_q(too_much)
    first = await c.call("wager", q)
    c.code(first, 1006, what="the first wager")
    rnd, _, _ = await c.placed("1")
    _, _ = await c.paid(rnd, W(money.add(too_much, D("1"))))
    before = await c.balance()
    c.check(before.total >= too_much, "setup: the win did not make the balance cover the refused bet")
    again = await c.call("wager", q)
    c.code(again, 1006, what="the refused wager sent again after the balance grew")
    c.same(await c.balance(), before, "after resending a refused wager")


async def _funds_concurrent_spend(c: Ctx) -> None:
    before = await c.balance()
    n = max(c.cfg.concurrency, 4)
    k = max(n // 4, 2)
    amount = floor10(before.total / k)
    c.check(amount > 0, "setup: the balance is too small")
    qs = [c.wager_q(amount) for _ in range(n)]
    replies = await asyncio.gather(*(c.call("wager", q) for q in qs))
    won = [(q, r) for q, r in zip(qs, replies, strict=True) if r.code == 200]
    for r in replies:
        c.code(r, 200, 1006, what="one of the concurrent wagers")
    c.check(
        len(won) == k,
        f"{n} concurrent wagers of {W(amount)} on a balance of {W(before.total)}:"
        f" {len(won)} accepted, expected exactly {k}",
    )
    spent = NOTHING
    for _, r in won:
        spent = spent + c.bet_split(r, amount)
    after = await c.balance()
    c.same(after, before - spent, "after the concurrent wagers")
    c.check(after.real >= 0 and after.bonus >= 0, "a balance went below zero")
    for q, _ in won:
        c.ok(await c.rollback(q["roundid"], q["transactionid"]), "rollback (cleanup)")
    c.same(await c.balance(), before, "after rolling the accepted wagers back")


async def _funds_blocked(c: Ctx) -> None:
    acct, sess = c.t.blocked_account, c.t.blocked_session
    assert acct
    assert sess
    assert c.t.admin
    q = c.wager_q("1", account=acct, session=sess)
    c.code(await c.call("wager", q), 1035, what="wager of a blocked account")
    await c.t.admin.call("POST", f"/admin/players/{acct}/unblock")
    before = await c.balance(acct, sess)
    c.code(await c.call("wager", q), 1035, what="the same wager after unblocking (a remembered refusal)")
    c.same(await c.balance(acct, sess), before, "after resending the refused wager")
    r = await c.wager("1", account=acct, session=sess)
    c.ok(r, "a new wager after unblocking")


async def _funds_gaming_limit(c: Ctx) -> None:
    acct, sess, limit = c.t.limit_account, c.t.limit_session, c.t.max_bet
    assert acct
    assert sess
    assert limit is not None
    before = await c.balance(acct, sess)
    q = c.wager_q(money.add(limit, D("1")), account=acct, session=sess)
    c.code(await c.call("wager", q), 1019, what="a wager above the bet limit")
    c.code(await c.call("wager", q), 1019, what="the same wager again (a remembered refusal)")
    c.same(await c.balance(acct, sess), before, "after the refused wagers")
    r = await c.wager(limit, account=acct, session=sess)
    c.ok(r, "a wager at the limit")


add("funds.insufficient", "wager above the balance: 1006, nothing debited", RULE_FUNDS, _funds_insufficient)
add(
    "funds.whole_balance",
    "wager of the whole balance succeeds; then 0.0000000001 more is 1006",
    RULE_FUNDS,
    _funds_whole_balance,
)
add(
    "funds.refusal_remembered",
    "a wager refused with 1006 stays refused when sent again after the balance grew",
    "Idempotency: business outcomes are remembered, failures included",
    _funds_refusal_remembered,
)
add(
    "funds.concurrent_spend",
    "many different wagers at once never spend more than the balance",
    RULE_FUNDS,
    _funds_concurrent_spend,
)
add(
    "funds.blocked",
    "wager of a blocked account: 1035, remembered after unblocking",
    RULE_FUNDS,
    _funds_blocked,
    needs=["admin"],
)
add(
    "funds.gaming_limit",
    "wager above the bet limit: 1019, remembered",
    RULE_FUNDS,
    _funds_gaming_limit,
    needs=["admin"],
)


# --------------------------------------------------------------------------- idempotency per money request


@dataclass
class MoneyCase:
    request: str
    params: dict[str, str]
    amount_key: str
    amount: Decimal
    delta: Callable[[Reply], Bal]
    body: dict[str, Any] | None = None


async def money_case(c: Ctx, request: str) -> MoneyCase:
    """A fresh request of this kind, ready to send; its prerequisites already done."""
    if request == "wager":
        amount = D("1.1")
        return MoneyCase("wager", c.wager_q(amount), "betamount", amount, lambda r: -c.bet_split(r, amount))
    if request == "result":
        rnd, _, _ = await c.placed("1")
        amount = D("2.2")
        return MoneyCase("result", c.result_q(rnd, amount), "result", amount, lambda r: c.win_split(r, amount))
    if request == "wagerAndResult":
        bet, win = D("1"), D("1.7")
        return MoneyCase(
            "wagerAndResult",
            c.wr_q(bet, win),
            "betamount",
            bet,
            lambda r: c.win_split(r, win) - c.bet_split(r, bet),
        )
    if request == "rollback":
        rnd, tx, split = await c.placed("1.3")
        return MoneyCase("rollback", c.rollback_q(rnd, tx), "rollbackamount", D("1.3"), lambda r: split)
    if request == "jackpot":
        rnd, _, _ = await c.placed("1")
        amount = D("3.3")
        return MoneyCase("jackpot", c.jackpot_q(rnd, amount), "amount", amount, lambda r: c.win_split(r, amount))
    if request == "reversewin":
        rnd, _, _ = await c.placed("1")
        win_tx, paid = await c.paid(rnd, "2.4")
        return MoneyCase("reversewin", c.reversewin_q(rnd, win_tx, "2.4"), "amount", D("2.4"), lambda r: -paid)
    if request == "rollbackrollback":
        rnd, tx, split = await c.placed("1.6")
        c.ok(await c.rollback(rnd, tx), "rollback (setup)")
        return MoneyCase(
            "rollbackrollback", c.rollbackrollback_q(rnd, tx, "1.6"), "rollbackAmount", D("1.6"), lambda r: -split
        )
    raise ValueError(request)


async def send_case(c: Ctx, case: MoneyCase, params: dict[str, str] | None = None) -> Reply:
    return await c.call(case.request, params or case.params)


def _idem_duplicate(request: str) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        case = await money_case(c, request)
        before = await c.balance()
        first = await send_case(c, case)
        c.ok(first, f"{request} (first)")
        moved = case.delta(first)
        again = await send_case(c, case)
        after = await c.balance()
        c.same(after, before + moved, f"after the {request} and its duplicate (money must move once)")
        c.dup(again, first)
        c.same(again.balances(), after, "the duplicate's balance fields (must be current)")

    return run


def _idem_mismatch(request: str, what: str) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        case = await money_case(c, request)
        before = await c.balance()
        first = await send_case(c, case)
        c.ok(first, f"{request} (first)")
        moved = case.delta(first)
        other_before = None
        if what == "amount":
            changed = case.params | {case.amount_key: W(money.add(case.amount, D("1")))}
        else:
            assert c.t.second_account
            assert c.t.second_session
            other_before = await c.balance(c.t.second_account, c.t.second_session)
            changed = case.params | {"accountid": c.t.second_account, "gamesessionid": c.t.second_session}
        r = await send_case(c, case, changed)
        c.code(r, 400, what=f"the same transactionid with a different {what}")
        c.same(await c.balance(), before + moved, f"after the {request} and the mismatched copy")
        if other_before is not None:
            c.same(await c.balance(c.t.second_account, c.t.second_session), other_before, "the other account")

    return run


def _idem_concurrent(request: str) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        case = await money_case(c, request)
        before = await c.balance()
        n = max(c.cfg.concurrency, 2)
        replies = await asyncio.gather(*(send_case(c, case) for _ in range(n)))
        for r in replies:
            c.code(r, 200, what=f"one of {n} copies")
        firsts = [r for r in replies if r.status == "Success"]
        after = await c.balance()
        if firsts:
            c.same(after, before + case.delta(firsts[0]), f"after {n} concurrent copies (money must move once)")
        c.check(
            len(firsts) == 1,
            f"{n} copies of one {request} sent at once: {len(firsts)} answered 'Success', expected exactly 1",
        )
        for r in replies:
            if r is not firsts[0]:
                c.dup(r, firsts[0], f"a concurrent copy of the {request}")

    return run


RULE_IDEM = (
    "Idempotency: the same request kind and transactionid with the same account, amount and round replays "
    "the original outcome ('Success - duplicate request'), no second movement of money, ever"
)
RULE_MISMATCH = "Idempotency: the same transactionid with a different account or amount is 400"
RULE_CONCURRENT = "Idempotency: no second movement of money, also when both copies arrive at the same moment"

for _req in MONEY_REQUESTS:
    add(
        f"idempotency.{_req}.duplicate",
        f"{_req} sent twice: replayed, money moves once",
        RULE_IDEM,
        _idem_duplicate(_req),
    )
    add(
        f"idempotency.{_req}.mismatch_amount",
        f"{_req} transactionid reused with another amount: 400",
        RULE_MISMATCH,
        _idem_mismatch(_req, "amount"),
    )
    add(
        f"idempotency.{_req}.mismatch_account",
        f"{_req} transactionid reused by another account: 400",
        RULE_MISMATCH,
        _idem_mismatch(_req, "account"),
        needs=["second"],
    )
for _req in ("wager", "result", "rollback"):
    add(
        f"concurrency.{_req}.copies",
        f"the same {_req} sent many times at once: one 'Success', the rest replays, money moves once",
        RULE_CONCURRENT,
        _idem_concurrent(_req),
    )


async def _batch_duplicate(c: Ctx) -> None:
    before = await c.balance()
    sent = [(c.tx("b"), c.rnd(), "1.2"), (c.tx("b"), c.rnd(), "0.8")]
    q, body = c.batch_q(), c.batch_body(sent)
    first = await c.batch_call(q, body)
    c.ok(first, "wagerbybatch (first)")
    firsts = _batch_bets(c, first, sent)
    moved = NOTHING
    for b, (_, _, amount) in zip(firsts, sent, strict=True):
        c.check(b["code"] == 200 and b["status"] == "Success", f"first batch: bet {b['transaction_id']} was {b}")
        moved = moved + _bet_part(c, b, amount)
    again = await c.batch_call(q, body)
    c.same(await c.balance(), before - moved, "after the batch and its duplicate (money must move once)")
    c.code(again, 200, what="the batch sent again")
    for b, b0 in zip(_batch_bets(c, again, sent), firsts, strict=True):
        c.check(
            b["code"] == 200 and b["status"] == DUP,
            f"batch sent again: bet {b['transaction_id']} must be {DUP!r}, was {b['code']} {b['status']!r}",
        )
        c.check(
            b["provider_transaction_id"] == b0["provider_transaction_id"],
            f"batch sent again: bet {b['transaction_id']} has a new provider_transaction_id",
        )
    c.same(await c.balance(), before - moved, "after the batch and its duplicate (money must move once)")


async def _batch_mismatch(c: Ctx, what: str) -> None:
    before = await c.balance()
    tx, rnd = c.tx("b"), c.rnd()
    first = await c.batch_call(c.batch_q(), c.batch_body([(tx, rnd, "1")]))
    c.ok(first, "wagerbybatch (first)")
    (b0,) = _batch_bets(c, first, [(tx, rnd, "1")])
    c.check(b0["code"] == 200, f"first batch: bet was {b0}")
    moved = _bet_part(c, b0, "1")
    other_before = None
    if what == "amount":
        sent = [(tx, rnd, "2")]
        r = await c.batch_call(c.batch_q(), c.batch_body(sent))
    else:
        assert c.t.second_account
        assert c.t.second_session
        other_before = await c.balance(c.t.second_account, c.t.second_session)
        sent = [(tx, rnd, "1")]
        r = await c.batch_call(
            c.batch_q(session=c.t.second_session),
            c.batch_body(sent, account=c.t.second_account, session=c.t.second_session),
        )
    if r.code != 400:
        c.code(r, 200, 400, what=f"batch reusing a transaction id with a different {what}")
        (b,) = _batch_bets(c, r, sent)
        c.check(b["code"] == 400, f"the reused transaction id with a different {what} must be 400, was {b}")
    c.same(await c.balance(), before - moved, "after the mismatched batch")
    if other_before is not None:
        c.same(await c.balance(c.t.second_account, c.t.second_session), other_before, "the other account")


async def _batch_mismatch_amount(c: Ctx) -> None:
    await _batch_mismatch(c, "amount")


async def _batch_mismatch_account(c: Ctx) -> None:
    await _batch_mismatch(c, "account")


async def _batch_independent(c: Ctx) -> None:
    before = await c.balance()
    huge = W(money.add(before.total, D("100")))
    sent = [(c.tx("b"), c.rnd(), "1"), (c.tx("b"), c.rnd(), huge), (c.tx("b"), c.rnd(), "2")]
    r = await c.batch_call(c.batch_q(), c.batch_body(sent))
    c.ok(r)
    bets = _batch_bets(c, r, sent)
    c.check(
        [b["code"] for b in bets] == [200, 1006, 200],
        f"bets of 1, {huge} (above the balance) and 2: codes {[b['code'] for b in bets]}, expected [200, 1006, 200]",
    )
    moved = _bet_part(c, bets[0], "1") + _bet_part(c, bets[2], "2")
    c.same(await c.balance(), before - moved, "after the batch")


RULE_BATCH = "wagerbybatch: debits, each independent; idempotency applies to every money request"
add(
    "idempotency.wagerbybatch.duplicate",
    "wagerbybatch sent twice: every bet replayed, money moves once",
    RULE_IDEM,
    _batch_duplicate,
)
add(
    "idempotency.wagerbybatch.mismatch_amount",
    "wagerbybatch bet transaction id reused with another amount: 400",
    RULE_MISMATCH,
    _batch_mismatch_amount,
)
add(
    "idempotency.wagerbybatch.mismatch_account",
    "wagerbybatch bet transaction id reused by another account: 400",
    RULE_MISMATCH,
    _batch_mismatch_account,
    needs=["second"],
)
add("funds.batch_independent", "wagerbybatch: one bet above the balance fails alone", RULE_BATCH, _batch_independent)


# --------------------------------------------------------------------------- rounds

RULE_ROUNDS = (
    "Result: a round may get several results; only one with gamestatus=completed, which closes the round; "
    "a result (or wager) on a closed round is 409"
)


async def _rounds_result_on_closed(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    await c.paid(rnd, "0")
    before = await c.balance()
    c.code(await c.result(rnd, "5"), 409, what="a second completed result on a closed round")
    c.code(await c.result(rnd, "5", status="pending"), 409, what="a pending result on a closed round")
    c.same(await c.balance(), before, "after results on a closed round")


async def _rounds_wager_on_closed(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    await c.paid(rnd, "2")
    before = await c.balance()
    c.code(await c.wager("1", rnd), 409, what="a wager on a closed round")
    c.same(await c.balance(), before, "after a wager on a closed round")


async def _rounds_pending(c: Ctx) -> None:
    rnd, _, _ = await c.placed("2")
    before = await c.balance()
    total = NOTHING
    for win, status in (("1", "pending"), ("0.5", "pending"), ("0.25", "completed")):
        _, paid = await c.paid(rnd, win, status)
        total = total + paid
        c.same(await c.balance(), before + total, f"after a {status} result of {win}")
    c.code(await c.result(rnd, "1"), 409, what="a result after the completed one")
    c.same(await c.balance(), before + total, "after the refused result")


async def _rounds_no_wager(c: Ctx) -> None:
    before = await c.balance()
    c.code(await c.result(c.rnd(), "5"), 102, what="a result for a round with no wager")
    c.same(await c.balance(), before, "after a result with no wager")


async def _rounds_bad_gamestatus(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    r = await c.result(rnd, "2", status="finished")
    c.code(r, 110, what="a result with gamestatus=finished")
    c.same(await c.balance(), before, "after a result with a bad gamestatus")


add("rounds.result_on_closed", "result on a closed round: 409, nothing credited", RULE_ROUNDS, _rounds_result_on_closed)
add("rounds.wager_on_closed", "wager on a closed round: 409, nothing debited", RULE_ROUNDS, _rounds_wager_on_closed)
add("rounds.pending_results", "several pending results, one completed, then 409", RULE_ROUNDS, _rounds_pending)
add(
    "rounds.result_without_wager",
    "result for a round with no wager: 102",
    "Result: must match a wager of the same account and round (102 Wager not found)",
    _rounds_no_wager,
)
add(
    "rounds.bad_gamestatus",
    "result with a gamestatus other than completed/pending: 110",
    "Error codes: 110 for a bad gamestatus",
    _rounds_bad_gamestatus,
)


# --------------------------------------------------------------------------- rollback

RULE_ROLLBACK = (
    "Rollback: refunds exactly what the wager debited, back to the balances it came from; the wager must exist "
    "(else 102), belong to the same account and round, and not be settled by a result (else 110)"
)


async def _rollback_unknown(c: Ctx) -> None:
    before = await c.balance()
    c.code(await c.rollback(c.rnd(), c.tx("w")), 102, what="rollback of a wager never sent")
    c.same(await c.balance(), before, "after rolling back an unknown wager")


async def _rollback_before_wager(c: Ctx) -> None:
    before = await c.balance()
    rnd, tx = c.rnd(), c.tx("w")
    c.code(await c.rollback(rnd, tx), 102, what="rollback arriving before its wager")
    q = c.wager_q("1", rnd, tx)
    c.code(await c.call("wager", q), 409, 110, what="the wager arriving after its rollback (tombstone)")
    c.code(await c.call("wager", q), 409, 110, what="the late wager sent again")
    c.same(await c.balance(), before, "after a rollback and its late wager (must never debit)")


async def _rollback_settled(c: Ctx) -> None:
    rnd, tx, _ = await c.placed("1")
    await c.paid(rnd, "2")
    before = await c.balance()
    c.code(await c.rollback(rnd, tx), 110, what="rollback of a wager settled by a result")
    c.same(await c.balance(), before, "after refusing the rollback")


async def _rollback_refused(c: Ctx) -> None:
    before = await c.balance()
    q = c.wager_q(money.add(before.total, D("1")))
    c.code(await c.call("wager", q), 1006, what="the wager (above the balance)")
    c.code(await c.rollback(q["roundid"], q["transactionid"]), 102, what="rollback of a refused wager")
    c.same(await c.balance(), before, "after rolling back a refused wager")


async def _rollback_mixed(c: Ctx) -> None:
    before = await c.balance()
    if before.real > 0 and before.bonus > 0:
        amount = (
            money.add(before.real, floor10(before.bonus / 2)) if before.bonus >= D("0.0000000002") else before.total
        )
    else:
        amount = floor10(before.total / 2)
    rnd, tx, split = await c.placed(amount)
    r = await c.rollback(rnd, tx)
    c.ok(r)
    c.same(r.balances(), before, f"rollback of a bet split {split}: each balance gets its part back")
    c.same(await c.balance(), before, "getbalance after the rollback")


async def _rollback_wrong_round(c: Ctx) -> None:
    start = await c.balance()
    rnd, tx, split = await c.placed("1")
    c.code(await c.rollback(c.rnd(), tx), 110, what="rollback naming another round than the wager's")
    c.same(await c.balance(), start - split, "after the refused rollback")
    # A refusal for a mismatched parameter must not poison the transaction id: the aggregator
    # retries the correct rollback until it applies.
    r = await c.rollback(rnd, tx)
    c.ok(r, "the correct rollback after the wrong-round one")
    c.same(await c.balance(), start, "after the correct rollback (the stake refunded)")
    c.dup(await c.rollback(rnd, tx), r, "the correct rollback sent again")
    c.same(await c.balance(), start, "after the correct rollback sent again (refunded exactly once)")


async def _reversewin_wrong_round(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    start = await c.balance()
    win_tx, paid = await c.paid(rnd, "2")
    wrong = c.reversewin_q(c.rnd(), win_tx, "2")
    c.code(await c.call("reversewin", wrong), 110, what="reversewin naming another round than the win's")
    c.same(await c.balance(), start + paid, "after the refused reversewin")
    r = await c.call("reversewin", c.reversewin_q(rnd, win_tx, "2"))
    c.ok(r, "the correct reversewin after the wrong-round one")
    c.same(await c.balance(), start, "after the correct reversewin (the win taken back)")
    c.dup(await c.call("reversewin", c.reversewin_q(rnd, win_tx, "2")), r, "the correct reversewin sent again")
    c.same(await c.balance(), start, "after the correct reversewin sent again (taken back exactly once)")


add("rollback.unknown", "rollback of an unknown wager: 102, nothing refunded", RULE_ROLLBACK, _rollback_unknown)
add(
    "rollback.before_wager",
    "rollback before its wager: 102; the late wager is refused (409/110) and never debits",
    "Rollback: a rollback that arrives before its wager tombstones the transaction",
    _rollback_before_wager,
)
add("rollback.settled", "rollback of a wager settled by a result: 110", RULE_ROLLBACK, _rollback_settled)
add(
    "rollback.refused_wager",
    "rollback of a wager refused with 1006: 102, nothing refunded",
    "Rollback: a rollback of a wager that failed refunds nothing: 102",
    _rollback_refused,
)
add(
    "rollback.mixed_split",
    "rollback of a bet paid with real and bonus money restores both exactly",
    RULE_ROLLBACK,
    _rollback_mixed,
)


async def _reversewin_wager_and_result(c: Ctx) -> None:
    start = await c.balance()
    q = c.wr_q("1", "6")
    r = await c.call("wagerAndResult", q)
    c.ok(r, "wagerAndResult (setup)")
    split, paid = c.bet_split(r, D("1")), c.win_split(r, D("6"))
    c.same(await c.balance(), start - split + paid, "after the wagerAndResult")
    back_q = c.reversewin_q(q["roundid"], q["transactionid"], "6")
    back = await c.call("reversewin", back_q)
    c.ok(back, "reversewin of the win paid by wagerAndResult (same transactionid)")
    c.same(await c.balance(), start - split, "after the reversewin (the win taken back, the stake still debited)")
    c.dup(await c.call("reversewin", back_q), back, "the reversewin sent again")
    c.same(await c.balance(), start - split, "after the reversewin sent again (taken back exactly once)")


RULE_POISON = (
    "Rollback / reversewin: refused (110) when naming another round; the refusal does not poison the "
    "transaction id: the correct request still applies, exactly once"
)
add(
    "rollback.wrong_round",
    "rollback naming another round: 110, nothing refunded; the correct rollback then refunds once",
    RULE_POISON,
    _rollback_wrong_round,
)
add(
    "rollback.reversewin_wrong_round",
    "reversewin naming another round: 110; the correct reversewin then takes the win back once",
    RULE_POISON,
    _reversewin_wrong_round,
)
add(
    "rollback.reversewin_wager_and_result",
    "reversewin of a win paid by wagerAndResult: 200, the win taken back once",
    "reversewin: takes back a paid win (result, jackpot or the win of a wagerAndResult), exactly as paid",
    _reversewin_wager_and_result,
)


# --------------------------------------------------------------------------- free rounds

RULE_FRB = "Wager: with frbid, betamount must be 0 and nothing is debited; free-round results may arrive with no wager"


async def _frb_wager_zero(c: Ctx) -> None:
    before = await c.balance()
    r = await c.wager("0", frbid=c.t.frbid)
    c.ok(r)
    c.same(c.bet_split(r, money.ZERO), NOTHING, "a free-round bet's split")
    c.same(await c.balance(), before, "after a free-round wager")


async def _frb_wager_nonzero(c: Ctx) -> None:
    before = await c.balance()
    r = await c.wager("1", frbid=c.t.frbid)
    c.code(r, 110, what="a free-round wager with betamount 1")
    c.same(await c.balance(), before, "after the refused free-round wager")


async def _frb_result_alone(c: Ctx) -> None:
    before = await c.balance()
    r = await c.result(c.rnd(), "2.5", frbid=c.t.frbid)
    c.ok(r)
    c.same(await c.balance(), before + c.win_split(r, D("2.5")), "after a free-round win with no wager")


async def _frb_round(c: Ctx) -> None:
    before = await c.balance()
    rnd = c.rnd()
    c.ok(await c.wager("0", rnd, frbid=c.t.frbid), "free-round wager")
    r = await c.result(rnd, "1.5", frbid=c.t.frbid)
    c.ok(r)
    c.same(await c.balance(), before + c.win_split(r, D("1.5")), "after a free-round wager and its win")


add("freerounds.wager_zero", "free-round wager of 0: 200, nothing debited", RULE_FRB, _frb_wager_zero, needs=["frbid"])
add("freerounds.wager_nonzero", "free-round wager above 0: 110", RULE_FRB, _frb_wager_nonzero, needs=["frbid"])
add(
    "freerounds.result_without_wager",
    "free-round win with no wager: credited",
    RULE_FRB,
    _frb_result_alone,
    needs=["frbid"],
)
add("freerounds.round", "free-round wager then win: credited", RULE_FRB, _frb_round, needs=["frbid"])


# --------------------------------------------------------------------------- signatures

RULE_SIG = (
    "Security: X-Groove-Signature = hex HMAC-SHA256 over the query values sorted by name (request excluded, "
    "nogsgameid as gameid), case-insensitive; bad or missing is 1001 and changes nothing"
)


async def _sig_valid(c: Ctx) -> None:
    assert c.t.secret
    q = c.common() | {"nogsgameid": c.t.game}
    sig = signature(c.t.secret, {"request": "getbalance", **q}, c.t.signature_scheme)
    c.ok(await c.call("getbalance", q, sig=sig), "getbalance, lower-case hex signature")
    c.ok(await c.call("getbalance", q, sig=sig.upper()), "getbalance, upper-case hex signature")
    c.ok(await c.call("getaccount", c.common()), "getaccount, signed")


async def _sig_missing(c: Ctx) -> None:
    before = await c.balance()
    c.code(
        await c.call("getbalance", c.common() | {"nogsgameid": c.t.game}, sig=False), 1001, what="unsigned getbalance"
    )
    c.code(await c.call("wager", c.wager_q("1"), sig=False), 1001, what="unsigned wager")
    c.same(await c.balance(), before, "after an unsigned wager")


async def _sig_wrong_secret(c: Ctx) -> None:
    q = c.common()
    sig = signature("not-the-operator-secret", {"request": "getaccount", **q}, c.t.signature_scheme)
    c.code(await c.call("getaccount", q, sig=sig), 1001, what="getaccount signed with another secret")


async def _sig_tampered(c: Ctx) -> None:
    assert c.t.secret
    before = await c.balance()
    q = c.wager_q("1")
    forged = signature(c.t.secret, {"request": "wager", **(q | {"betamount": "0.01"})}, c.t.signature_scheme)
    c.code(await c.call("wager", q, sig=forged), 1001, what="wager whose signature covers another amount")
    c.same(await c.balance(), before, "after the forged wager")
    r = await c.call("wager", q)
    c.ok(r, "the same wager correctly signed (the bad one changed nothing)")
    c.same(await c.balance(), before - c.bet_split(r, D("1")), "after the signed wager")


async def _sig_settling(c: Ctx) -> None:
    rnd, tx, _ = await c.placed("1")
    before = await c.balance()
    c.code(await c.call("result", c.result_q(rnd, "3"), sig="0" * 64), 1001, what="result with a bad signature")
    c.code(await c.call("rollback", c.rollback_q(rnd, tx), sig="0" * 64), 1001, what="rollback with a bad signature")
    c.same(await c.balance(), before, "after the badly signed result and rollback")


async def _sig_batch(c: Ctx) -> None:
    before = await c.balance()
    sent = [(c.tx("b"), c.rnd(), "1")]
    c.code(await c.batch_call(c.batch_q(), c.batch_body(sent), sig="f" * 64), 1001, what="wagerbybatch, bad signature")
    c.same(await c.balance(), before, "after the badly signed batch")
    r = await c.batch_call(c.batch_q(), c.batch_body(sent))
    c.ok(r, "wagerbybatch signed over its query string only")


add("signature.valid", "correct signatures accepted, in either hex case", RULE_SIG, _sig_valid, needs=["secret"])
add("signature.missing", "missing signature: 1001, nothing debited", RULE_SIG, _sig_missing, needs=["secret"])
add("signature.wrong_secret", "signature made with another secret: 1001", RULE_SIG, _sig_wrong_secret, needs=["secret"])
add(
    "signature.tampered",
    "signature over other parameter values: 1001, then the genuine request succeeds once",
    RULE_SIG,
    _sig_tampered,
    needs=["secret"],
)
add("signature.settling", "result and rollback with a bad signature: 1001", RULE_SIG, _sig_settling, needs=["secret"])
add(
    "signature.wagerbybatch",
    "wagerbybatch: only the query string is signed; a bad signature is 1001",
    RULE_SIG,
    _sig_batch,
    needs=["secret"],
)


# --------------------------------------------------------------------------- decimal formatting

RULE_DEC = (
    "Transport: amounts are Decimal(32,10) both ways: parsed exactly, more than 10 fractional or 22 integer "
    "digits, NaN/Infinity and exponents rejected; emitted as JSON numbers without float rounding"
)


def _strict_amounts(c: Ctx, r: Reply) -> None:
    c.check(not r.bad_numbers, f"{r.request}: numbers outside Decimal(32,10) notation: {r.bad_numbers}")
    items: list[tuple[str, Any]] = [(k, v) for k, v in r.body.items() if k in MONEY_FIELDS]
    for b in r.body.get("bets") or []:
        if isinstance(b, dict):
            items += [(k, v) for k, v in b.items() if k in MONEY_FIELDS]
    for k, v in items:
        c.check(
            isinstance(v, int | Decimal) and not isinstance(v, bool),
            f"{r.request}: {k} is {v!r} ({type(v).__name__}), must be a JSON number",
        )


async def _dec_format(c: Ctx) -> None:
    replies = [
        await c.call("getaccount", c.common()),
        await c.call("getbalance", c.common() | {"nogsgameid": c.t.game}),
    ]
    rnd = c.rnd()
    replies.append(await c.wager("1.0000000001", rnd))
    replies.append(await c.result(rnd, "0.3333333333"))
    replies.append(await c.call("wagerAndResult", c.wr_q("0.1", "0.2")))
    sent = [(c.tx("b"), c.rnd(), "0.5")]
    replies.append(await c.batch_call(c.batch_q(), c.batch_body(sent)))
    for r in replies:
        c.ok(r)
        _strict_amounts(c, r)


async def _dec_smallest(c: Ctx) -> None:
    before = await c.balance()
    unit = D("0.0000000001")
    rnd = c.rnd()
    r = await c.wager(unit, rnd)
    c.ok(r)
    _strict_amounts(c, r)
    split = c.bet_split(r, unit)
    c.same(await c.balance(), before - split, "after a wager of 0.0000000001")
    r2 = await c.result(rnd, unit)
    c.ok(r2)
    _strict_amounts(c, r2)
    paid = c.win_split(r2, unit)
    c.same(await c.balance(), before - split + paid, "after a win of 0.0000000001")


async def _dec_ten_places(c: Ctx) -> None:
    before = await c.balance()
    amount = D("1.2345678901")
    rnd, tx, split = await c.placed(amount)
    c.same(await c.balance(), before - split, "after a wager of 1.2345678901")
    c.ok(await c.rollback(rnd, tx), "rollback")
    c.same(await c.balance(), before, "after its rollback")


async def _dec_large(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    big = "1234567890123.4567890123"  # no binary float holds this exactly
    tx = c.tx("res")
    r = await c.result(rnd, big, tx=tx)
    c.ok(r)
    _strict_amounts(c, r)
    paid = c.win_split(r, D(big))
    c.same(r.balances(), before + paid, "result reply balances after a win of " + big)
    c.same(await c.balance(), before + paid, "getbalance after a win of " + big)
    back = await c.call("reversewin", c.reversewin_q(rnd, tx, big))
    c.ok(back, "reversewin of the large win (cleanup)")
    c.same(await c.balance(), before, "after taking the large win back")


def _dec_reject(value: str, code: int = 1008) -> ScenarioFn:
    """A malformed amount is ``1008 Parameter required`` (the error table), a negative one ``110``.

    Exactly that code: any other refusal means the wallet read the amount (e.g. a 10^22 bet
    answered 1006 was parsed and then refused for lack of funds, not refused as malformed).
    """

    async def run(c: Ctx) -> None:
        before = await c.balance()
        r = await c.wager(value)
        c.code(r, code, what=f"wager with betamount={value}")
        c.same(await c.balance(), before, f"after a wager of {value!r}")

    return run


async def _dec_negative_result(c: Ctx) -> None:
    rnd, _, _ = await c.placed("1")
    before = await c.balance()
    c.code(await c.result(rnd, "-5"), 110, what="a result of -5")
    c.same(await c.balance(), before, "after a negative result")


add("decimal.reply_format", "money in replies: JSON numbers, no exponent, at most 10 decimals", RULE_DEC, _dec_format)
add("decimal.smallest_unit", "0.0000000001 debited and credited exactly", RULE_DEC, _dec_smallest)
add("decimal.ten_places", "a 10-decimal bet and its rollback are exact", RULE_DEC, _dec_ten_places)
add("decimal.large_exact", "a 22-significant-digit win is credited exactly", RULE_DEC, _dec_large)
add("decimal.reject_11_decimals", "betamount with 11 decimals: 1008", RULE_DEC, _dec_reject("1.00000000001"))
add("decimal.reject_23_digits", "betamount with 23 integer digits: 1008", RULE_DEC, _dec_reject("1" + "0" * 22))
add("decimal.reject_exponent", "betamount 1e1: 1008", RULE_DEC, _dec_reject("1e1"))
add("decimal.reject_nan", "betamount NaN: 1008", RULE_DEC, _dec_reject("NaN"))
add("decimal.reject_infinity", "betamount Infinity: 1008", RULE_DEC, _dec_reject("Infinity"))
add(
    "decimal.negative_wager",
    "negative betamount: 110",
    "Wager: amount valid (110 for negative)",
    _dec_reject("-1", 110),
)
add("decimal.negative_result", "negative result: 110", "Error codes: 110 for a negative amount", _dec_negative_result)


async def _missing_parameter(c: Ctx) -> None:
    before = await c.balance()
    q = c.wager_q("1")
    del q["betamount"]
    c.code(await c.call("wager", q), 1008, what="wager without betamount")
    c.same(await c.balance(), before, "after a wager without betamount")


add(
    "transport.missing_parameter",
    "wager without betamount: 1008",
    "Error codes: 1008 for a required parameter missing or malformed",
    _missing_parameter,
)


# --------------------------------------------------------------------------- setup


def _origin(url: str) -> str:
    u = URL(url)
    return str(u.origin())


async def setup_admin(http: aiohttp.ClientSession, cfg: Config) -> Target:
    """A fresh operator (signing secret, cash_money) with the players and sessions the run needs."""
    assert cfg.admin_token
    admin = Admin(http, cfg.admin_url or _origin(cfg.url), cfg.admin_token)
    run = secrets.token_hex(4)
    op = f"cert{run}"
    secret = cfg.secret or secrets.token_hex(16)
    await admin.call(
        "POST",
        "/admin/operators",
        {
            "operator_id": op,
            "name": f"certify {run}",
            "currency": cfg.currency,
            "debit_order": "cash_money",
            "signature_secret": secret,
            "signature_scheme": cfg.signature_scheme,
        },
    )

    async def player(suffix: str, real: str, bonus: str) -> str:
        acct = f"{op}{suffix}"
        await admin.call(
            "POST",
            "/admin/players",
            {
                "operator_id": op,
                "account_id": acct,
                "name": f"Certify {suffix}",
                "country": "MT",
                "city": "Valletta",
                "real_balance": real,
                "bonus_balance": bonus,
            },
        )
        return acct

    async def session(acct: str, ttl: int = 3600) -> str:
        body = await admin.call(
            "POST", "/admin/sessions", {"account_id": acct, "game_id": cfg.game, "ttl_seconds": ttl}
        )
        return str(body["gamesessionid"])

    main_acct = await player("a", "100", "50")
    second = await player("b", "10", "0")
    blocked = await player("c", "20", "0")
    limited = await player("d", "50", "0")
    t = Target(
        url=cfg.url,
        account=main_acct,
        session=await session(main_acct),
        game=cfg.game,
        device=cfg.device,
        apiversion=cfg.apiversion,
        secret=secret,
        signature_scheme=cfg.signature_scheme,
        second_account=second,
        second_session=await session(second),
        blocked_account=blocked,
        blocked_session=await session(blocked),
        limit_account=limited,
        limit_session=await session(limited),
        max_bet=D("5"),
        admin=admin,
        run=run,
    )
    await admin.call("POST", f"/admin/players/{blocked}/block")
    await admin.call(
        "PUT",
        f"/admin/players/{limited}/limits",
        {"max_bet": "5", "loss_day": None, "loss_week": None, "loss_month": None},
    )
    t.frbid = f"{op}frb"
    await admin.call("POST", f"/admin/players/{main_acct}/free-rounds", {"frbid": t.frbid, "pays_into": "real"})
    logged_out = await session(main_acct)
    t.dead["logged_out"] = DeadSession("logged_out", logged_out, logged_out, close_path=f"/admin/sessions/{logged_out}")
    expiring = await session(main_acct, ttl=cfg.expiry_seconds)
    t.dead["expired"] = DeadSession("expired", expiring, expiring, dies_at=time.monotonic() + cfg.expiry_seconds + 0.25)
    return t


def setup_args(cfg: Config) -> Target:
    if not (cfg.account and cfg.session):
        raise CertifyError("give --account and --session (a funded account with a live session), or --admin-token")
    t = Target(
        url=cfg.url,
        account=cfg.account,
        session=cfg.session,
        game=cfg.game,
        device=cfg.device,
        apiversion=cfg.apiversion,
        secret=cfg.secret,
        signature_scheme=cfg.signature_scheme,
        second_account=cfg.second_account,
        second_session=cfg.second_session,
        frbid=cfg.frbid,
    )
    if cfg.expired_session:
        t.dead["expired"] = DeadSession("expired", cfg.expired_session, cfg.session)
    return t


async def preflight(http: aiohttp.ClientSession, t: Target, cfg: Config) -> None:
    c = Ctx(http, t, cfg)
    try:
        r = await c.call("getbalance", c.common() | {"nogsgameid": t.game})
    except Failed as exc:
        raise CertifyError(f"getbalance of the account failed: {exc}") from None
    if r.code == 1001:
        raise CertifyError("the wallet wants a signature: give the operator's --secret")
    if r.code != 200:
        raise CertifyError(f"getbalance of account {t.account} answered {r.brief()}: need a live session")
    try:
        total = r.balances().total
    except Failed as exc:
        raise CertifyError(str(exc)) from None
    if total < cfg.min_balance:
        raise CertifyError(
            f"account {t.account} holds {W(total)}; the scenarios need at least {W(cfg.min_balance)} to play with"
        )


# --------------------------------------------------------------------------- runner


class Listed(Protocol):
    """What the runner and the listing read of a scenario (Groove's or Hub88's)."""

    @property
    def id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def needs(self) -> frozenset[str]: ...


S = TypeVar("S", bound=Listed)


def select(scenarios: Sequence[S], patterns: Iterable[str]) -> list[S]:
    """The scenarios whose id matches a glob or starts with ``pattern.``; all without patterns."""
    pats = list(patterns)
    if not pats:
        return list(scenarios)
    return [s for s in scenarios if any(fnmatch.fnmatchcase(s.id, p) or s.id.startswith(p + ".") for p in pats)]


def selected(patterns: Iterable[str]) -> list[Scenario]:
    return select(SCENARIOS, patterns)


async def run_scenario(
    s: Listed, call: Callable[[], Awaitable[None]], exchanges: list[Exchange], carried: float = 0.0
) -> ScenarioResult:
    """Run one scenario's step, timed; any exception is its failure (the run goes on)."""
    start = time.perf_counter()
    status: Status = "pass"
    message = ""
    try:
        await call()
    except Failed as exc:
        status, message = "fail", str(exc)
    except CertifyError as exc:
        status, message = "fail", f"setup: {exc}"
    except Exception as exc:  # a scenario bug or an unreadable reply: report it, keep going
        status, message = "fail", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start + carried
    return ScenarioResult(s.id, s.category, s.title, s.rule, status, message, seconds, exchanges)


async def _run_one(ctx: Ctx, s: Scenario, fn: ScenarioFn, prior: ScenarioResult | None = None) -> ScenarioResult:
    return await run_scenario(s, lambda: fn(ctx), ctx.exchanges, prior.seconds if prior else 0.0)


async def run_certify(cfg: Config, on_result: Callable[[ScenarioResult], None] | None = None) -> Report:
    """Set up, run every selected scenario, return the report.  Raises CertifyError on setup failure."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=cfg.timeout)
    connector = aiohttp.TCPConnector(limit=max(2 * cfg.concurrency, 20))
    scenarios = selected(cfg.only)
    if not scenarios:
        raise CertifyError(f"no scenario matches {cfg.only}")
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        try:
            t = await setup_admin(http, cfg) if cfg.admin_token else setup_args(cfg)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CertifyError(f"setup: {exc!r}") from None
        await preflight(http, t, cfg)
        caps = t.capabilities
        results: dict[str, ScenarioResult] = {}
        ctxs: dict[str, Ctx] = {}

        def done(r: ScenarioResult) -> None:
            results[r.id] = r
            if on_result is not None:
                on_result(r)

        runnable = []
        for s in scenarios:
            missing = sorted(s.needs - caps)
            if missing:
                why = "; ".join(NEEDS_HELP[m] for m in missing)
                done(ScenarioResult(s.id, s.category, s.title, s.rule, "skip", f"needs {why}"))
            else:
                runnable.append(s)

        # 1. what must happen while the soon-dead sessions are alive
        prepared: dict[str, ScenarioResult] = {}
        for s in runnable:
            if s.prepare is not None:
                ctx = ctxs[s.id] = Ctx(http, t, cfg)
                pr = await _run_one(ctx, s, s.prepare)
                if pr.status == "fail":
                    pr.message = "before the session died: " + pr.message
                    done(pr)
                else:
                    prepared[s.id] = pr
        for d in t.dead.values():
            if d.close_path and t.admin is not None:
                await t.admin.call("DELETE", d.close_path)
        # 2. everything that needs no dead session
        for s in runnable:
            if s.dead is None:
                done(await _run_one(Ctx(http, t, cfg), s, s.run))
        # 3. the dead-session scenarios, once every such session is dead
        if any(s.dead for s in runnable):
            await _until_dead(http, t, cfg)
        for s in runnable:
            if s.dead is not None and s.id not in results:
                ctx = ctxs.get(s.id) or Ctx(http, t, cfg)
                done(await _run_one(ctx, s, s.run, prepared.get(s.id)))
    order = {s.id: i for i, s in enumerate(scenarios)}
    ordered = sorted(results.values(), key=lambda r: order[r.id])
    mode = "admin API setup" if cfg.admin_token else "arguments"
    return Report(cfg.url, mode, started, time.perf_counter() - t0, ordered)


async def _until_dead(http: aiohttp.ClientSession, t: Target, cfg: Config) -> None:
    """Wait until every session we made to expire has expired, by the server's clock."""
    for d in t.dead.values():
        if not d.dies_at:
            continue
        await asyncio.sleep(max(d.dies_at - time.monotonic(), 0.0))
        probe = Ctx(http, t, cfg)
        for _ in range(40):  # client and server clocks may disagree a little
            try:
                r = await probe.call("getbalance", probe.common(session=d.session_id) | {"nogsgameid": t.game})
            except Failed:
                break  # the scenarios will show what is wrong
            if r.code != 200:
                break
            await asyncio.sleep(0.25)


# --------------------------------------------------------------------------- output

_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
MAX_SHOWN = 8


def text_line(r: ScenarioResult) -> str:
    return f"{_MARK[r.status]}  {r.id:<48} {r.title}"


def text_details(r: ScenarioResult, verbose: bool = False) -> str:
    lines = []
    if r.message:
        lines.append(f"      {r.message}")
    if r.status == "fail" or (verbose and r.status == "pass"):
        lines.append(f"      rule: {r.rule}")
        shown = r.exchanges if verbose else r.exchanges[-MAX_SHOWN:]
        if len(shown) < len(r.exchanges):
            lines.append(f"      ({len(r.exchanges) - len(shown)} earlier exchanges not shown; see --format json)")
        for e in shown:
            lines += ["      " + ln for ln in e.text().splitlines()]
    return "\n".join(lines)


def render_text_summary(report: Report) -> str:
    failed = [r.id for r in report.results if r.status == "fail"]
    lines = [
        "",
        f"{report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped"
        f" of {len(report.results)} scenarios in {report.seconds:.1f}s against {report.url}",
    ]
    if failed:
        lines.append("failed: " + ", ".join(failed))
    return "\n".join(lines)


def render_text(report: Report, verbose: bool = False) -> str:
    out = [f"groove-wallet certify {report.url} ({report.mode}), started {report.started}"]
    for r in report.results:
        out.append(text_line(r))
        details = text_details(r, verbose)
        if details:
            out.append(details)
    out.append(render_text_summary(report))
    return "\n".join(out) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


def render_junit(report: Report) -> str:
    suites = ET.Element(
        "testsuites",
        name="groove-wallet certify",
        tests=str(len(report.results)),
        failures=str(report.count("fail")),
        skipped=str(report.count("skip")),
        time=f"{report.seconds:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="groove-certify",
        tests=str(len(report.results)),
        failures=str(report.count("fail")),
        errors="0",
        skipped=str(report.count("skip")),
        time=f"{report.seconds:.3f}",
        timestamp=report.started,
        hostname=URL(report.url).host or "",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="url", value=report.url)
    ET.SubElement(props, "property", name="mode", value=report.mode)
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"certify.{r.category}", name=r.id, time=f"{r.seconds:.4f}")
        exchanges = "\n".join(e.text() for e in r.exchanges)
        if r.status == "fail":
            fail = ET.SubElement(case, "failure", message=r.message[:1000], type="ScenarioFailed")
            fail.text = f"{r.title}\nrule: {r.rule}\n\n{exchanges}"
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=r.message)
        if exchanges and r.status != "fail":
            ET.SubElement(case, "system-out").text = exchanges
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render(report: Report, fmt: str, verbose: bool = False) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "junit":
        return render_junit(report)
    return render_text(report, verbose)


def list_scenarios() -> str:
    return listing(SCENARIOS)


def listing(scenarios: Iterable[Listed]) -> str:
    lines = []
    for s in scenarios:
        needs = f"  [needs {', '.join(sorted(s.needs))}]" if s.needs else ""
        lines.append(f"{s.id:<48} {s.title}{needs}")
    return "\n".join(lines) + "\n"
