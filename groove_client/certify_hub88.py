"""``groove-wallet certify --protocol hub88``: play Hub88 against any operator wallet.

Every rule of ``shared/reference/hub88-wallet-api.md`` that a wallet can be tested on from the
outside is a scenario: it sends real signed requests, checks the replies (HTTP 200, a ``status``
of the reference's table, the ``request_uuid`` echoed, integer balances) and proves with
``/user/balance`` before and after that money moved exactly as the rule says: once, or not at
all.  The report (scenario results, text / JSON / JUnit) is the Groove certify's.

What the wallet must provide, as arguments: its URL (the prefix the five paths are appended
to), a funded player (``user``) with a live ``token``, the wallet currency and a game code, and
the private key the run signs with (the wallet must hold its public half as "Hub88's public
key").  Optional: an expired token of the same player (token scenarios) and a second player
with its own live token.

Where the reference records a choice of ours ([C]), a scenario accepts every answer that moves
money correctly; e.g. a bet arriving after its rollback may be refused with any ``RS_ERROR_*``
status, but it must not debit.

Nothing here imports the service: this is a client, usable against anyone's Hub88 wallet.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp

from . import hub88
from .certify import CertifyError, Exchange, Failed, Report, ScenarioResult, listing, run_scenario, select
from .hub88 import Bodies, Player, Signer

NEEDS_HELP: dict[str, str] = {
    "expired": "an expired token of the player: --expired-session",
    "second": "a second player of the same operator with a live token: --second-account and --second-session",
}


@dataclass
class Config:
    url: str  # the wallet's Hub88 prefix, e.g. https://wallet.example/hub88
    signer: Signer
    user: str
    token: str
    currency: str = "EUR"
    game: str = "clt_dragonrising"
    expired_token: str | None = None
    second_user: str | None = None
    second_token: str | None = None
    concurrency: int = 20
    timeout: float = 15.0
    only: list[str] = field(default_factory=list)
    min_balance: int = 20 * hub88.SCALE  # units: 20.00000 of the currency

    @property
    def capabilities(self) -> set[str]:
        caps = set()
        if self.expired_token:
            caps.add("expired")
        if self.second_user and self.second_token:
            caps.add("second")
        return caps


@dataclass
class Reply:
    endpoint: str
    body: dict[str, Any]
    raw: str

    @property
    def status(self) -> Any:
        return self.body.get("status")

    @property
    def balance(self) -> int:
        b = self.body.get("balance")
        if not hub88.is_int(b):
            raise Failed(f"{self.endpoint}: 'balance' must be a JSON integer (x 100 000), got {b!r}: {self.raw[:300]}")
        assert isinstance(b, int)
        return b


def _parse(text: str) -> Any:
    """JSON with every non-integer number as a Decimal, so a float balance is seen as one."""
    return json.loads(text, parse_float=Decimal)


class Ctx:
    def __init__(self, http: aiohttp.ClientSession, cfg: Config) -> None:
        self.http = http
        self.cfg = cfg
        self.exchanges: list[Exchange] = []
        self.p = Player(cfg.user, cfg.token, cfg.currency, cfg.game)
        self.b = Bodies(self.p)

    # -- transport

    async def send(
        self,
        endpoint: str,
        body: Mapping[str, Any] | bytes,
        sig: str | bool | None = None,
        signer: Signer | None = None,
    ) -> Reply:
        """POST one request.  ``sig``: None signs the bytes sent, False sends no header, a str is sent as is."""
        raw = body if isinstance(body, bytes) else hub88.encode(body)
        headers = {"Content-Type": "application/json"}
        if sig is None:
            headers[hub88.HEADER] = (signer or self.cfg.signer).sign(raw)
        elif isinstance(sig, str):
            headers[hub88.HEADER] = sig
        url = self.cfg.url.rstrip("/") + hub88.PATH[endpoint]
        start = time.perf_counter()
        status: int | None = None
        try:
            async with self.http.post(url, data=raw, headers=headers) as resp:
                status = resp.status
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            text = f"<{type(exc).__name__}: {exc}>"
        shown = {k: (v[:16] + "..." if k == hub88.HEADER else v) for k, v in headers.items()}
        body_text = raw.decode("utf-8", "replace")
        self.exchanges.append(
            Exchange("POST", url, shown, body_text, status, text[:4000], (time.perf_counter() - start) * 1000)
        )
        return self._reply(endpoint, raw, status, text)

    def _reply(self, endpoint: str, raw: bytes, status: int | None, text: str) -> Reply:
        if status is None:
            raise Failed(f"{endpoint}: no reply: {text}")
        if status != 200:
            raise Failed(
                f"{endpoint}: HTTP {status} (every Hub88 wallet answer is HTTP 200 with a status): {text[:300]}"
            )
        try:
            parsed = _parse(text)
        except ValueError as exc:
            raise Failed(f"{endpoint}: reply is not JSON ({exc}): {text[:300]}") from None
        if not isinstance(parsed, dict):
            raise Failed(f"{endpoint}: reply is not a JSON object: {text[:300]}")
        r = Reply(endpoint, parsed, text)
        self.check(r.status in hub88.STATUSES, f"{endpoint}: status {r.status!r} is not one of the reference's table")
        sent = _request_uuid(raw)
        if sent is not None:
            self.check(
                parsed.get("request_uuid") == sent,
                f"{endpoint}: request_uuid {parsed.get('request_uuid')!r} does not echo the request's {sent!r}",
            )
        return r

    # -- checks

    @staticmethod
    def check(cond: bool, message: str) -> None:
        if not cond:
            raise Failed(message)

    def expect(self, r: Reply, *statuses: str, what: str = "") -> None:
        label = what or r.endpoint
        if r.status not in statuses:
            raise Failed(f"{label}: expected {' or '.join(statuses)}, got {r.status!r}: {r.raw[:300]}")

    def refused(self, r: Reply, what: str = "") -> None:
        """Any ``RS_ERROR_*`` status (where the reference leaves the code to the wallet)."""
        label = what or r.endpoint
        self.check(
            isinstance(r.status, str) and r.status.startswith("RS_ERROR_"),
            f"{label}: must be refused, got {r.status!r}: {r.raw[:300]}",
        )

    def moved(self, before: int, after: int, delta: int, what: str) -> None:
        if after - before != delta:
            raise Failed(
                f"{what}: balance went from {before} to {after} (moved {after - before} units), expected {delta:+d}"
            )

    def envelope(self, r: Reply, user: str | None = None) -> int:
        """An RS_OK reply of the envelope: user, currency, integer balance; returns the balance."""
        self.expect(r, "RS_OK")
        want = user or self.p.user
        self.check(r.body.get("user") == want, f"{r.endpoint}: user {r.body.get('user')!r} is not {want!r}")
        self.check(
            r.body.get("currency") == self.p.currency,
            f"{r.endpoint}: currency {r.body.get('currency')!r} is not the wallet's {self.p.currency!r}",
        )
        b = r.balance
        self.check(b >= 0, f"{r.endpoint}: negative balance {b}")
        return b

    # -- requests

    async def balance(self, user: str | None = None, token: str | None = None) -> int:
        body = self.b.balance(**({"user": user, "token": token} if user and token else {}))
        r = await self.send("balance", body)
        return self.envelope(r, user)

    async def bet(self, amount: int, tx: str | None = None, rnd: str | None = None, **over: Any) -> Reply:
        return await self.send("bet", self.b.bet(amount, tx, rnd, **over))

    async def win(self, reference: str, amount: int, tx: str | None = None, **over: Any) -> Reply:
        return await self.send("win", self.b.win(reference, amount, tx, **over))

    async def rollback(self, reference: str, tx: str | None = None, **over: Any) -> Reply:
        return await self.send("rollback", self.b.rollback(reference, tx, **over))

    async def placed(self, amount: int) -> str:
        """A successful bet (setup); its transaction_uuid."""
        tx = hub88.new_uuid()
        self.expect(await self.bet(amount, tx), "RS_OK", what="bet (setup)")
        return tx


def _request_uuid(raw: bytes) -> str | None:
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return None
    value = data.get("request_uuid") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- registry

ScenarioFn = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    id: str
    category: str
    title: str
    rule: str
    run: ScenarioFn
    needs: frozenset[str] = frozenset()


SCENARIOS: list[Scenario] = []


def add(id: str, title: str, rule: str, run: ScenarioFn, needs: Iterable[str] = ()) -> None:
    SCENARIOS.append(Scenario(id, id.split(".", 1)[0], title, rule, run, frozenset(needs)))


STAKE = 100_000  # 1.00000
ODD = 12_345  # 0.12345: sub-cent amounts must survive exactly


# --------------------------------------------------------------------------- reply fields

RULE_FIELDS = "Section 4: every reply echoes request_uuid; user, currency and an integer balance (x 100 000) on RS_OK"


async def _fields_info(c: Ctx) -> None:
    r = await c.send("info", c.b.info())
    c.expect(r, "RS_OK")
    c.check(r.body.get("user") == c.p.user, f"user/info: user {r.body.get('user')!r} is not {c.p.user!r}")


async def _fields_balance(c: Ctx) -> None:
    r = await c.send("balance", c.b.balance())
    c.envelope(r)


async def _fields_money(c: Ctx) -> None:
    before = await c.balance()
    tx = hub88.new_uuid()
    bet = c.envelope(await c.bet(STAKE, tx))
    c.check(bet == before - STAKE, f"bet reply balance {bet}, expected {before - STAKE}")
    win = c.envelope(await c.win(tx, ODD))
    c.check(win == bet + ODD, f"win reply balance {win}, expected {bet + ODD}")
    tx2 = await c.placed(STAKE)
    rb = c.envelope(await c.rollback(tx2))
    c.check(rb == win, f"rollback reply balance {rb}, expected {win}")
    c.moved(before, await c.balance(), ODD - STAKE, "bet, win, bet, rollback")


async def _fields_unknown_ignored(c: Ctx) -> None:
    before = await c.balance()
    r = await c.bet(STAKE, is_aggregated=False, is_billable=True, some_future_field={"x": [1, 2]}, game_id=1)
    c.envelope(r)
    c.moved(before, await c.balance(), -STAKE, "bet with fields the wallet does not know")


add("fields.info", "/user/info answers RS_OK with the user", RULE_FIELDS, _fields_info)
add("fields.balance", "/user/balance: user, currency, integer balance", RULE_FIELDS, _fields_balance)
add("fields.money", "bet / win / rollback replies carry the balance after the operation", RULE_FIELDS, _fields_money)
add(
    "fields.unknown_ignored",
    "fields the wallet does not know are ignored, not refused",
    "Section 1: Hub88 adds optional fields over time; never RS_ERROR_WRONG_SYNTAX for an extra field",
    _fields_unknown_ignored,
)


# --------------------------------------------------------------------------- money moves

RULE_MONEY = "Sections 5.3-5.5: a bet debits amount, a win credits amount, a rollback refunds the bet's stake"


async def _bet_debit(c: Ctx) -> None:
    before = await c.balance()
    await c.placed(ODD)
    c.moved(before, await c.balance(), -ODD, "bet")


async def _win_credit(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    c.expect(await c.win(tx, 3 * STAKE + ODD), "RS_OK")
    c.moved(before, await c.balance(), 3 * STAKE + ODD, "win")


async def _win_several(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    for _ in range(3):
        c.expect(await c.win(tx, ODD), "RS_OK", what="one of several wins on one bet")
    c.moved(before, await c.balance(), 3 * ODD, "three wins, each with its own transaction_uuid")


async def _win_zero(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    c.expect(await c.win(tx, 0), "RS_OK", what="win of 0 (a losing round closed)")
    c.moved(before, await c.balance(), 0, "win of 0")


async def _rollback_refund(c: Ctx) -> None:
    before = await c.balance()
    tx = await c.placed(ODD)
    c.expect(await c.rollback(tx), "RS_OK")
    c.moved(before, await c.balance(), 0, "bet then its rollback")


add("money.bet", "a bet debits exactly its amount", RULE_MONEY, _bet_debit)
add("money.win", "a win credits exactly its amount", RULE_MONEY, _win_credit)
add(
    "money.win_several",
    "several wins on one bet are each credited",
    "Section 5.4: several wins may reference one bet; credit each distinct transaction_uuid",
    _win_several,
)
add("money.win_zero", "a win of 0 is accepted", "Section 5.4: amount 0 closes a losing round", _win_zero)
add("money.rollback", "a rollback refunds exactly the bet's stake", RULE_MONEY, _rollback_refund)


# --------------------------------------------------------------------------- wins and rollbacks out of order

RULE_ORDER = "Sections 5.4, 5.5, 9: the order cases of wins and rollbacks"


async def _win_unknown_bet(c: Ctx) -> None:
    before = await c.balance()
    r = await c.win(hub88.new_uuid(), STAKE)
    c.expect(r, "RS_ERROR_TRANSACTION_DOES_NOT_EXIST")
    c.check(r.balance == before, f"the refusal's balance {r.balance} is not the balance {before}")
    c.moved(before, await c.balance(), 0, "win of an unknown bet")


async def _win_rolled_back(c: Ctx) -> None:
    before = await c.balance()
    tx = await c.placed(STAKE)
    c.expect(await c.rollback(tx), "RS_OK", what="rollback (setup)")
    c.expect(await c.win(tx, 5 * STAKE), "RS_ERROR_TRANSACTION_DOES_NOT_EXIST", what="win of a rolled-back bet")
    c.moved(before, await c.balance(), 0, "bet, rollback, win")


async def _rollback_unknown(c: Ctx) -> None:
    before = await c.balance()
    r = await c.rollback(hub88.new_uuid())
    c.expect(r, "RS_OK", what="rollback of an unknown bet")
    c.moved(before, await c.balance(), 0, "rollback of an unknown bet")


async def _rollback_before_bet(c: Ctx) -> None:
    before = await c.balance()
    tx = hub88.new_uuid()
    c.expect(await c.rollback(tx), "RS_OK", what="rollback before its bet")
    r = await c.bet(STAKE, tx)
    c.refused(r, "the bet arriving after its rollback")
    c.refused(await c.bet(STAKE, tx), "the late bet sent again")
    c.expect(await c.rollback(tx), "RS_OK", what="Hub88's rollback after the refused late bet")
    c.moved(before, await c.balance(), 0, "rollback, then the late bet")


async def _rollback_twice(c: Ctx) -> None:
    before = await c.balance()
    tx = await c.placed(STAKE)
    c.expect(await c.rollback(tx), "RS_OK", what="first rollback")
    c.expect(await c.rollback(tx), "RS_OK", what="a second rollback (another transaction_uuid)")
    c.moved(before, await c.balance(), 0, "bet rolled back twice")


async def _rollback_refused_bet(c: Ctx) -> None:
    before = await c.balance()
    tx = hub88.new_uuid()
    c.expect(await c.bet(before + 1, tx), "RS_ERROR_NOT_ENOUGH_MONEY", what="bet above the balance (setup)")
    c.expect(await c.rollback(tx), "RS_OK", what="rollback of a refused bet")
    c.moved(before, await c.balance(), 0, "refused bet, then its rollback")


add("order.win_unknown", "a win of an unknown bet is RS_ERROR_TRANSACTION_DOES_NOT_EXIST", RULE_ORDER, _win_unknown_bet)
add("order.win_rolled_back", "a win of a rolled-back bet credits nothing", RULE_ORDER, _win_rolled_back)
add("order.rollback_unknown", "a rollback of an unknown bet is RS_OK and moves nothing", RULE_ORDER, _rollback_unknown)
add(
    "order.rollback_before_bet",
    "a bet after its rollback is refused and never debits",
    RULE_ORDER,
    _rollback_before_bet,
)
add("order.rollback_twice", "a second rollback of one bet refunds nothing", RULE_ORDER, _rollback_twice)
add("order.rollback_refused", "a rollback of a refused bet refunds nothing", RULE_ORDER, _rollback_refused_bet)


# --------------------------------------------------------------------------- funds

RULE_FUNDS = "Section 5.3: RS_ERROR_NOT_ENOUGH_MONEY when the balance is below the stake; it must carry the balance"


async def _funds_not_enough(c: Ctx) -> None:
    before = await c.balance()
    r = await c.bet(before + 1)
    c.expect(r, "RS_ERROR_NOT_ENOUGH_MONEY")
    c.check(r.balance == before, f"the refusal carries balance {r.balance}, the balance is {before}")
    c.moved(before, await c.balance(), 0, "refused bet")


async def _funds_huge(c: Ctx) -> None:
    before = await c.balance()
    r = await c.bet(hub88.INT64_MAX)
    c.expect(r, "RS_ERROR_NOT_ENOUGH_MONEY", what="a bet of 2**63-1 units")
    c.check(r.balance == before, f"the refusal carries balance {r.balance}, the balance is {before}")
    c.moved(before, await c.balance(), 0, "refused huge bet")


add("funds.not_enough", "a bet one unit above the balance is refused with the balance", RULE_FUNDS, _funds_not_enough)
add("funds.huge", "the largest Int64 stake is refused exactly, nothing overflows", RULE_FUNDS, _funds_huge)


# --------------------------------------------------------------------------- idempotency

RULE_IDEM = "Section 8: the same transaction_uuid with the same details is RS_OK again and moves nothing more"
RULE_DUP = (
    "Section 8: the same transaction_uuid with different details is RS_ERROR_DUPLICATE_TRANSACTION; nothing moves"
)
RULE_CONC = "Section 8: identical requests at the same moment move money once"


async def _idem_bet(c: Ctx) -> None:
    before = await c.balance()
    body = c.b.bet(STAKE)
    c.expect(await c.send("bet", body), "RS_OK")
    again = await c.send("bet", body | {"request_uuid": hub88.new_uuid()})
    c.expect(again, "RS_OK", what="the same bet again")
    after = await c.balance()
    c.check(again.balance == after, f"the replay's balance {again.balance} is not the current balance {after}")
    c.moved(before, after, -STAKE, "a bet sent twice")


async def _idem_win(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    body = c.b.win(tx, ODD)
    c.expect(await c.send("win", body), "RS_OK")
    c.expect(await c.send("win", body | {"request_uuid": hub88.new_uuid()}), "RS_OK", what="the same win again")
    c.moved(before, await c.balance(), ODD, "a win sent twice")


async def _idem_rollback(c: Ctx) -> None:
    before = await c.balance()
    tx = await c.placed(STAKE)
    body = c.b.rollback(tx)
    c.expect(await c.send("rollback", body), "RS_OK")
    c.expect(await c.send("rollback", body | {"request_uuid": hub88.new_uuid()}), "RS_OK", what="the same rollback")
    c.moved(before, await c.balance(), 0, "bet, then its rollback sent twice")


def _dup(kind: str, change: Callable[[Ctx, dict[str, Any]], dict[str, Any]]) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        ref = await c.placed(STAKE) if kind != "bet" else ""
        body = c.b.bet(STAKE) if kind == "bet" else c.b.win(ref, ODD) if kind == "win" else c.b.rollback(ref)
        c.expect(await c.send(kind, body), "RS_OK", what=f"{kind} (setup)")
        before = await c.balance()
        changed = change(c, body) | {"request_uuid": hub88.new_uuid()}
        endpoint = changed.pop("_endpoint", kind)
        r = await c.send(endpoint, changed)
        c.expect(r, "RS_ERROR_DUPLICATE_TRANSACTION", what=f"the {kind}'s transaction_uuid with other details")
        c.moved(before, await c.balance(), 0, f"{kind} duplicate with other details")

    return run


def _as_win(c: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    return c.b.win(hub88.new_uuid(), body["amount"], body["transaction_uuid"]) | {"_endpoint": "win"}


async def _dup_user(c: Ctx) -> None:
    assert c.cfg.second_user
    assert c.cfg.second_token
    body = c.b.bet(STAKE)
    c.expect(await c.send("bet", body), "RS_OK", what="bet (setup)")
    first = await c.balance()
    second = await c.balance(c.cfg.second_user, c.cfg.second_token)
    other = body | {"user": c.cfg.second_user, "token": c.cfg.second_token, "request_uuid": hub88.new_uuid()}
    c.expect(await c.send("bet", other), "RS_ERROR_DUPLICATE_TRANSACTION", what="the same bet for another user")
    c.moved(first, await c.balance(), 0, "first player")
    c.moved(second, await c.balance(c.cfg.second_user, c.cfg.second_token), 0, "second player")


async def _concurrent(c: Ctx, endpoint: str, body: dict[str, Any], delta: int, before: int) -> None:
    replies = await asyncio.gather(
        *(c.send(endpoint, body | {"request_uuid": hub88.new_uuid()}) for _ in range(c.cfg.concurrency))
    )
    for r in replies:
        c.expect(r, "RS_OK", what=f"one of {c.cfg.concurrency} identical {endpoint}s at once")
    c.moved(before, await c.balance(), delta, f"{c.cfg.concurrency} identical {endpoint}s at once")


async def _conc_bet(c: Ctx) -> None:
    await _concurrent(c, "bet", c.b.bet(STAKE), -STAKE, await c.balance())


async def _conc_win(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    await _concurrent(c, "win", c.b.win(tx, ODD), ODD, await c.balance())


async def _conc_rollback(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    await _concurrent(c, "rollback", c.b.rollback(tx), STAKE, await c.balance())


add("idem.bet", "a bet sent twice debits once; the replay shows the current balance", RULE_IDEM, _idem_bet)
add("idem.win", "a win sent twice credits once", RULE_IDEM, _idem_win)
add("idem.rollback", "a rollback sent twice refunds once", RULE_IDEM, _idem_rollback)
add("dup.bet_amount", "a bet's uuid with another amount", RULE_DUP, _dup("bet", lambda c, b: b | {"amount": ODD}))
add("dup.bet_round", "a bet's uuid with another round", RULE_DUP, _dup("bet", lambda c, b: b | {"round": "r-other"}))
add(
    "dup.bet_currency",
    "a bet's uuid with another currency",
    RULE_DUP,
    _dup("bet", lambda c, b: b | {"currency": "XTS" if c.p.currency != "XTS" else "XXX"}),
)
add("dup.bet_as_win", "a bet's uuid reused by a win", RULE_DUP, _dup("bet", _as_win))
add("dup.win_amount", "a win's uuid with another amount", RULE_DUP, _dup("win", lambda c, b: b | {"amount": STAKE}))
add(
    "dup.win_reference",
    "a win's uuid with another reference",
    RULE_DUP,
    _dup("win", lambda c, b: b | {"reference_transaction_uuid": hub88.new_uuid()}),
)
add(
    "dup.rollback_reference",
    "a rollback's uuid with another reference",
    RULE_DUP,
    _dup("rollback", lambda c, b: b | {"reference_transaction_uuid": hub88.new_uuid()}),
)
add("dup.user", "a bet's uuid for another user moves neither", RULE_DUP, _dup_user, needs=["second"])
add("concurrent.bet", "identical bets at once debit once", RULE_CONC, _conc_bet)
add("concurrent.win", "identical wins at once credit once", RULE_CONC, _conc_win)
add("concurrent.rollback", "identical rollbacks at once refund once", RULE_CONC, _conc_rollback)


# --------------------------------------------------------------------------- tokens

RULE_SESSIONS = (
    "Section 10: balance and bet need a valid token (RS_ERROR_INVALID_TOKEN / RS_ERROR_TOKEN_EXPIRED);"
    " wins and rollbacks are never refused for the token"
)


async def _token_unknown(c: Ctx) -> None:
    before = await c.balance()
    bogus = f"certify-{hub88.new_uuid()}"
    c.expect(await c.send("balance", c.b.balance(token=bogus)), "RS_ERROR_INVALID_TOKEN", what="balance, unknown token")
    c.expect(await c.bet(STAKE, token=bogus), "RS_ERROR_INVALID_TOKEN", what="bet, unknown token")
    c.moved(before, await c.balance(), 0, "bet with an unknown token")


async def _token_other_player(c: Ctx) -> None:
    before = await c.balance()
    r = await c.bet(STAKE, token=c.cfg.second_token)
    c.expect(r, "RS_ERROR_INVALID_TOKEN", what="bet with another player's token")
    c.moved(before, await c.balance(), 0, "bet with another player's token")


async def _token_expired(c: Ctx) -> None:
    before = await c.balance()
    dead = c.cfg.expired_token
    c.expect(await c.send("balance", c.b.balance(token=dead)), "RS_ERROR_TOKEN_EXPIRED", what="balance, expired token")
    c.expect(await c.bet(STAKE, token=dead), "RS_ERROR_TOKEN_EXPIRED", what="bet, expired token")
    c.moved(before, await c.balance(), 0, "bet with an expired token")


async def _token_expired_win(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    c.expect(await c.win(tx, ODD, token=c.cfg.expired_token), "RS_OK", what="win carrying an expired token")
    c.moved(before, await c.balance(), ODD, "win carrying an expired token")


async def _token_expired_rollback(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    c.expect(await c.rollback(tx, token=c.cfg.expired_token), "RS_OK", what="rollback carrying an expired token")
    c.moved(before, await c.balance(), STAKE, "rollback carrying an expired token")


add("token.unknown", "an unknown token is refused on balance and bet", RULE_SESSIONS, _token_unknown)
add(
    "token.other_player",
    "a bet with another player's token is refused",
    RULE_SESSIONS,
    _token_other_player,
    needs=["second"],
)
add("token.expired", "an expired token is refused on balance and bet", RULE_SESSIONS, _token_expired, needs=["expired"])
add(
    "token.expired_win", "a win with an expired token is accepted", RULE_SESSIONS, _token_expired_win, needs=["expired"]
)
add(
    "token.expired_rollback",
    "a rollback with an expired token is accepted",
    RULE_SESSIONS,
    _token_expired_rollback,
    needs=["expired"],
)


# --------------------------------------------------------------------------- signatures

RULE_SIG = (
    "Section 3: X-Hub88-Signature is RSA-SHA256 (PKCS#1 v1.5) over the raw body bytes;"
    " missing or invalid -> RS_ERROR_INVALID_SIGNATURE and nothing changes"
)


def _sig_case(how: str) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        before = await c.balance()
        body = c.b.bet(STAKE)
        raw = hub88.encode(body)
        if how == "missing":
            r = await c.send("bet", raw, sig=False)
        elif how == "wrong_key":
            r = await c.send("bet", raw, signer=Signer.generate())
        elif how == "tampered":
            r = await c.send("bet", raw.replace(b",", b", ", 1), sig=c.cfg.signer.sign(raw))
        else:
            r = await c.send("bet", raw, sig="bm90IGEgc2lnbmF0dXJl")
        c.expect(r, "RS_ERROR_INVALID_SIGNATURE", what=f"bet with a {how.replace('_', ' ')} signature")
        c.moved(before, await c.balance(), 0, f"bet with a {how.replace('_', ' ')} signature")
        # Nothing was remembered: the same bet, signed, is a new bet.
        c.expect(await c.send("bet", raw), "RS_OK", what="the same bet, now signed")
        c.moved(before, await c.balance(), -STAKE, "the same bet, now signed")

    return run


async def _sig_raw_bytes(c: Ctx) -> None:
    before = await c.balance()
    body = c.b.bet(STAKE)
    raw = json.dumps(dict(reversed(list(body.items()))), indent=1).encode()  # other spacing and key order
    c.expect(await c.send("bet", raw), "RS_OK", what="a bet whose body is not compact JSON, signed as sent")
    c.moved(before, await c.balance(), -STAKE, "bet signed over its exact bytes")


async def _sig_settling(c: Ctx) -> None:
    tx = await c.placed(STAKE)
    before = await c.balance()
    r = await c.send("win", c.b.win(tx, ODD), sig=False)
    c.expect(r, "RS_ERROR_INVALID_SIGNATURE", what="unsigned win")
    r = await c.send("rollback", c.b.rollback(tx), signer=Signer.generate())
    c.expect(r, "RS_ERROR_INVALID_SIGNATURE", what="rollback signed with another key")
    r = await c.send("balance", c.b.balance(), sig=False)
    c.expect(r, "RS_ERROR_INVALID_SIGNATURE", what="unsigned balance")
    c.moved(before, await c.balance(), 0, "unsigned win and wrongly signed rollback")


add("sig.missing", "an unsigned bet is refused and changes nothing", RULE_SIG, _sig_case("missing"))
add("sig.wrong_key", "a bet signed with another key is refused", RULE_SIG, _sig_case("wrong_key"))
add("sig.tampered", "a body changed after signing is refused", RULE_SIG, _sig_case("tampered"))
add("sig.garbage", "a signature that is not one is refused", RULE_SIG, _sig_case("garbage"))
add("sig.raw_bytes", "the signature covers the raw body, not a re-serialisation", RULE_SIG, _sig_raw_bytes)
add("sig.settling", "unsigned wins, rollbacks and balances are refused", RULE_SIG, _sig_settling)


# --------------------------------------------------------------------------- syntax, types, exact amounts

RULE_SYNTAX = (
    "Section 6: not JSON / missing field -> RS_ERROR_WRONG_SYNTAX; wrong JSON type or negative amount ->"
    " RS_ERROR_WRONG_TYPES; nothing changes"
)


def _bad_bet(status: str, change: Mapping[str, Any] | None = None, drop: str | None = None) -> ScenarioFn:
    async def run(c: Ctx) -> None:
        before = await c.balance()
        body = c.b.bet(STAKE) | dict(change or {})
        if drop:
            body.pop(drop)
        c.expect(await c.send("bet", body), status, what=f"bet with {drop or change}")
        c.moved(before, await c.balance(), 0, "refused malformed bet")

    return run


async def _float_amount(c: Ctx) -> None:
    before = await c.balance()
    raw = hub88.encode(c.b.bet(STAKE))
    raw = raw.replace(f'"amount":{STAKE}'.encode(), f'"amount":{STAKE}.0'.encode())  # jsonio writes no ".0"
    c.check(f'"amount":{STAKE}.0'.encode() in raw, "could not build the float amount")
    c.expect(await c.send("bet", raw), "RS_ERROR_WRONG_TYPES", what="bet with amount 100000.0")
    c.moved(before, await c.balance(), 0, "refused bet with a float amount")


async def _not_json(c: Ctx) -> None:
    r = await c.send("bet", b'{"user": ')
    c.expect(r, "RS_ERROR_WRONG_SYNTAX", what="a body that is not JSON")


RULE_EXACT = "Section 2: amounts are integers x 100 000; sub-cent values are legal and move exactly"


async def _exact_smallest(c: Ctx) -> None:
    before = await c.balance()
    tx = await c.placed(1)
    c.moved(before, await c.balance(), -1, "a bet of 1 unit (0.00001)")
    c.expect(await c.win(tx, 123), "RS_OK", what="a win of 123 units")
    c.moved(before, await c.balance(), 122, "1-unit bet, 123-unit win")


add("syntax.not_json", "a body that is not JSON", RULE_SYNTAX, _not_json)
add("syntax.missing_amount", "a bet without amount", RULE_SYNTAX, _bad_bet("RS_ERROR_WRONG_SYNTAX", drop="amount"))
add("types.string_amount", "an amount as a string", RULE_SYNTAX, _bad_bet("RS_ERROR_WRONG_TYPES", {"amount": "100000"}))
add("types.float_amount", "an amount as a JSON float (100000.0)", RULE_SYNTAX, _float_amount)
add("types.bool_amount", "an amount as true", RULE_SYNTAX, _bad_bet("RS_ERROR_WRONG_TYPES", {"amount": True}))
add("types.negative_amount", "a negative amount", RULE_SYNTAX, _bad_bet("RS_ERROR_WRONG_TYPES", {"amount": -STAKE}))
add(
    "currency.wrong",
    "a bet in another currency",
    "Section 2: a transaction whose currency differs from the wallet's is RS_ERROR_WRONG_CURRENCY",
    lambda c: _bad_bet("RS_ERROR_WRONG_CURRENCY", {"currency": "XTS" if c.p.currency != "XTS" else "XXX"})(c),
)
add("exact.smallest", "1-unit and 123-unit amounts move exactly", RULE_EXACT, _exact_smallest)


# --------------------------------------------------------------------------- runner


async def preflight(http: aiohttp.ClientSession, cfg: Config) -> None:
    """The player's balance, signed with the run's key, must answer RS_OK with enough money."""
    ctx = Ctx(http, cfg)
    try:
        balance = await ctx.balance()
    except Failed as exc:
        raise CertifyError(f"preflight /user/balance failed (URL, key, user or token wrong?): {exc}") from None
    if balance < cfg.min_balance:
        raise CertifyError(
            f"the player {cfg.user!r} has {balance} units; certification needs at least {cfg.min_balance}"
        )


async def run_certify(cfg: Config, on_result: Callable[[ScenarioResult], None] | None = None) -> Report:
    """Run every selected scenario; raises CertifyError when setup fails."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    scenarios = select(SCENARIOS, cfg.only)
    if not scenarios:
        raise CertifyError(f"no scenario matches {cfg.only}")
    timeout = aiohttp.ClientTimeout(total=cfg.timeout)
    connector = aiohttp.TCPConnector(limit=max(2 * cfg.concurrency, 20))
    results: list[ScenarioResult] = []
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        await preflight(http, cfg)
        for s in scenarios:
            missing = sorted(s.needs - cfg.capabilities)
            if missing:
                why = "; ".join(NEEDS_HELP[m] for m in missing)
                r = ScenarioResult(s.id, s.category, s.title, s.rule, "skip", f"needs {why}")
            else:
                ctx = Ctx(http, cfg)
                r = await run_scenario(s, functools.partial(s.run, ctx), ctx.exchanges)
            results.append(r)
            if on_result is not None:
                on_result(r)
    return Report(cfg.url, "arguments (hub88)", started, time.perf_counter() - t0, results)


def list_scenarios() -> str:
    return listing(SCENARIOS)


async def run_from_args(args: argparse.Namespace, on_result: Callable[[ScenarioResult], None] | None = None) -> Report:
    """``groove-wallet certify --protocol hub88``: the config from the command line, then the run."""
    return await run_certify(config_from_args(args), on_result)


def config_from_args(args: argparse.Namespace) -> Config:
    """``--account`` / ``--session`` are the player and its live token, ``--expired-session`` an
    expired token of it, ``--second-account`` / ``--second-session`` another player;
    ``--hub88-key`` the PEM private key to sign with.  No admin-API setup yet (CertifyError).
    """
    if args.admin_token:
        raise CertifyError("--protocol hub88 takes its player from arguments; --admin-token is not supported yet")
    given = (("--account", args.account), ("--session", args.session), ("--hub88-key", args.hub88_key))
    missing = [flag for flag, v in given if not v]
    if missing:
        raise CertifyError(f"--protocol hub88 needs {', '.join(missing)}")
    try:
        with open(args.hub88_key, "rb") as f:
            signer = Signer.from_pem(f.read(hub88.MAX_PEM + 1))
    except (OSError, ValueError, TypeError) as exc:
        raise CertifyError(f"--hub88-key {args.hub88_key}: {exc}") from None
    return Config(
        url=args.url,
        signer=signer,
        user=args.account,
        token=args.session,
        currency=args.currency,
        game=args.game,
        expired_token=args.expired_session,
        second_user=args.second_account,
        second_token=args.second_session,
        concurrency=args.concurrency,
        timeout=args.timeout,
        only=args.only or [],
    )
