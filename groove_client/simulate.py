"""``groove-wallet simulate``: a simulated aggregator playing many players at once.

Each player plays realistic game sessions against ``/groove``: ``getaccount`` when the game
opens, ``getbalance`` before every round, wagers and results (single bets, multi-bet rounds
with pending results, ``wagerAndResult``), jackpots, free rounds, rollbacks, and the things
real aggregators do to a wallet: duplicates sent at the same moment, retries after a lost
reply, a rollback after a wager whose reply never came, bets above the balance, a new game
session now and then.

The simulator keeps every player's expected balance as exact Decimals: the total from the
amounts it sent, and real / bonus from the splits the wallet reported.  Every reply's
balances are compared with it as the run goes, and at the end every player's balance
(``getbalance`` and the admin API) must equal it exactly.  Players, sessions and free-round
awards are created through the admin API under a fresh operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import aiohttp
from yarl import URL

from . import money
from .jsonio import loads

DUP = "Success - duplicate request"
QUANTUM = Decimal("0.0000000001")
RETRYABLE_ATTEMPTS = 5


class SimulationError(Exception):
    """Setup failed (exit status 2)."""


@dataclass
class SimConfig:
    url: str
    admin_token: str
    admin_url: str | None = None
    players: int = 10
    rounds: int = 50
    concurrency: int = 32
    seed: int | None = None
    game: str = "80102"
    currency: str = "EUR"
    timeout: float = 15.0
    signed: bool = True
    signature_scheme: str = "concat"
    progress: bool = True
    protocol: str = "groove"  # groove | hub88 | mixed (groove_client.simulate_hub88)
    hub88_url: str | None = None  # the Hub88 prefix (default: the --url's origin + /hub88)
    hub88_key_pem: str | None = None  # signs as Hub88 (default: a fresh key pair)


@dataclass
class Player:
    account: str
    session: str
    rng: random.Random
    real: Decimal
    bonus: Decimal
    total: Decimal
    frbid: str
    seq: int = 0

    def next_id(self, tag: str) -> str:
        self.seq += 1
        return f"{self.account}-{self.seq}-{tag}"


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    duplicates_sent: int = 0
    lost_replies: int = 0
    technical_retries: int = 0
    rollbacks: int = 0
    refusals_expected: int = 0
    new_sessions: int = 0
    rounds_done: int = 0
    players_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


@dataclass
class SimResult:
    cfg: SimConfig
    stats: Stats
    seconds: float
    operator: str

    @property
    def ok(self) -> bool:
        return not self.stats.mismatches and not self.stats.unexpected

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        total = sum(s.requests.values())
        return {
            "url": self.cfg.url,
            "protocol": self.cfg.protocol,
            "operator": self.operator,
            "players": self.cfg.players,
            "rounds_per_player": self.cfg.rounds,
            "rounds": s.rounds_done,
            "seconds": round(self.seconds, 3),
            "requests": total,
            "requests_per_second": round(total / self.seconds, 1) if self.seconds else 0,
            "by_request": dict(sorted(s.requests.items())),
            "codes": dict(sorted(s.codes.items())),
            "duplicates_sent": s.duplicates_sent,
            "lost_replies_retried": s.lost_replies,
            "technical_retries": s.technical_retries,
            "rollbacks": s.rollbacks,
            "refusals_expected": s.refusals_expected,
            "new_sessions": s.new_sessions,
            "players_checked": s.players_checked,
            "mismatches": len(s.mismatches),
            "mismatch_details": s.mismatches[:100],
            "unexpected": len(s.unexpected),
            "unexpected_details": s.unexpected[:100],
            "ok": self.ok,
        }

    def json(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def text(self) -> str:
        s = self.stats
        total = sum(s.requests.values())
        rate = total / self.seconds if self.seconds else 0.0
        lines = [
            f"simulate: {self.cfg.players} players x {self.cfg.rounds} rounds against {self.cfg.url}"
            + (f" ({self.cfg.protocol})" if self.cfg.protocol != "groove" else "")
            + f" (operator {self.operator}) in {self.seconds:.1f}s",
            f"requests: {total} ({rate:.0f}/s): " + ", ".join(f"{k} {v}" for k, v in sorted(s.requests.items())),
            f"duplicates sent: {s.duplicates_sent}, lost replies retried: {s.lost_replies}, rollbacks: {s.rollbacks},"
            f" refusals expected: {s.refusals_expected}, new sessions: {s.new_sessions},"
            f" technical retries: {s.technical_retries}",
            f"balances: {s.players_checked} players checked, {len(s.mismatches)} mismatches",
            f"unexpected replies: {len(s.unexpected)}",
        ]
        for m in s.mismatches[:20]:
            lines.append(f"  mismatch: {m}")
        for u in s.unexpected[:20]:
            lines.append(f"  unexpected: {u}")
        lines.append("OK: every balance equals what the simulator expects" if self.ok else "FAILED")
        return "\n".join(lines) + "\n"


def _sign(secret: str, params: Mapping[str, str], scheme: str = "concat") -> str:
    if scheme == "pairs":  # every name=value, request included, sorted, joined by "&"
        payload = "&".join(sorted(f"{k}={v}" for k, v in params.items()))
    else:  # Groove: the values sorted by name, request excluded, nogsgameid as gameid
        items = sorted(("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request")
        payload = "".join(v for _, v in items)
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _amount(body: Mapping[str, Any], key: str) -> Decimal:
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, int | Decimal | str):
        raise ValueError(f"{key} is {v!r}")
    return money.coerce(v)


class Lost(Exception):
    """The simulated network dropped the reply."""


class Simulation:
    #: starting bonus balances, in cents, one chosen per player
    bonus_cents: tuple[int, ...] = (0, 0, 1_000, 2_550)

    def __init__(self, cfg: SimConfig, http: aiohttp.ClientSession) -> None:
        self.cfg = cfg
        self.http = http
        self.stats = Stats()
        self.run = secrets.token_hex(4)
        self.operator = f"sim{self.run}"
        self.secret = secrets.token_hex(16) if cfg.signed else None
        self.admin_base = (cfg.admin_url or str(URL(cfg.url).origin())).rstrip("/")
        self._auth = {"Authorization": f"Bearer {cfg.admin_token}"}
        self.players: list[Player] = []
        seed = cfg.seed if cfg.seed is not None else secrets.randbits(32)
        self.seed = seed

    # ------------------------------------------------------------------ admin

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        try:
            async with self.http.request(method, self.admin_base + path, json=body, headers=self._auth) as resp:
                text = await resp.text()
                if resp.status not in (200, 201):
                    raise SimulationError(f"admin API {method} {path}: HTTP {resp.status}: {text[:300]}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SimulationError(f"admin API {method} {path}: {exc!r}") from None
        return loads(text) if text else None

    async def setup(self) -> None:
        await self.create_operator()
        await self.create_players()

    async def create_operator(self) -> None:
        await self.admin(
            "POST",
            "/admin/operators",
            {
                "operator_id": self.operator,
                "name": f"simulation {self.run}",
                "currency": self.cfg.currency,
                "debit_order": "cash_money",
                "signature_secret": self.secret,
                "signature_scheme": self.cfg.signature_scheme,
            },
        )

    async def create_players(self) -> None:
        sem = asyncio.Semaphore(16)

        async def make(i: int) -> Player:
            rng = random.Random(f"{self.seed}-{i}")
            real = Decimal(rng.randint(2_000, 50_000)) / 100
            bonus = Decimal(rng.choice(self.bonus_cents)) / 100
            acct = f"{self.operator}p{i}"
            async with sem:
                body = await self.admin(
                    "POST",
                    "/admin/players",
                    {
                        "operator_id": self.operator,
                        "account_id": acct,
                        "name": f"Simulated {i}",
                        "country": "MT",
                        "city": "Valletta",
                        "real_balance": money.wire(real),
                        "bonus_balance": money.wire(bonus),
                    },
                )
                w = body["wallets"][0]
                start_real, start_bonus = money.coerce(w["real_balance"]), money.coerce(w["bonus_balance"])
                session = await self.new_session(acct)
                frbid = f"{acct}frb"
                await self.admin("POST", f"/admin/players/{acct}/free-rounds", {"frbid": frbid, "pays_into": "real"})
            return Player(acct, session, rng, start_real, start_bonus, money.add(start_real, start_bonus), frbid)

        self.players = list(await asyncio.gather(*(make(i) for i in range(self.cfg.players))))

    async def new_session(self, account: str) -> str:
        body = await self.admin(
            "POST", "/admin/sessions", {"account_id": account, "game_id": self.cfg.game, "ttl_seconds": 86400}
        )
        return str(body["gamesessionid"])

    # ------------------------------------------------------------------ transport

    async def groove(self, p: Player, request: str, extra: Mapping[str, str], *, lose: bool = False) -> dict[str, Any]:
        """One request with the aggregator's retry on technical failure; ``lose`` drops the reply."""
        q = {
            "request": request,
            "accountid": p.account,
            "gamesessionid": p.session,
            "device": "desktop",
            "apiversion": "1.2",
            **extra,
        }
        headers = {"X-Groove-Signature": _sign(self.secret, q, self.cfg.signature_scheme)} if self.secret else {}
        url = URL(self.cfg.url).with_query(q)
        self.stats.requests[request] += 1
        if lose:
            self.stats.lost_replies += 1
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                await asyncio.wait_for(self._get(url, headers), timeout=p.rng.uniform(0.0002, 0.004))
            raise Lost
        for attempt in range(RETRYABLE_ATTEMPTS):
            try:
                status, text = await self._get(url, headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                status, text = 0, repr(exc)
            if status == 200:
                try:
                    body = loads(text)
                except ValueError:
                    body = None
                if isinstance(body, dict) and body.get("code") != 1:
                    self.stats.codes[f"{request}:{body.get('code')}"] += 1
                    return dict(body)
            self.stats.technical_retries += 1
            await asyncio.sleep(0.05 * (attempt + 1))
        raise SimulationError(f"{request} for {p.account}: no definite answer after {RETRYABLE_ATTEMPTS} tries")

    async def _get(self, url: URL, headers: dict[str, str]) -> tuple[int, str]:
        async with self.http.get(url, headers=headers) as resp:
            return resp.status, await resp.text()

    # ------------------------------------------------------------------ bookkeeping

    def mismatch(self, p: Player, what: str) -> None:
        self.stats.mismatches.append(f"{p.account}: {what}")

    def unexpected(self, p: Player, request: str, body: Mapping[str, Any], expected: str) -> None:
        self.stats.unexpected.append(
            f"{p.account} {request}: expected {expected}, got {body.get('code')} {body.get('status')!r}"
        )

    def check_reply_balances(self, p: Player, request: str, body: Mapping[str, Any]) -> None:
        if "real_balance" not in body:
            return
        got = (_amount(body, "real_balance"), _amount(body, "bonus_balance"))
        if got != (p.real, p.bonus):
            self.mismatch(
                p,
                f"{request} reply says real {got[0]} bonus {got[1]}, expected real {p.real} bonus {p.bonus}",
            )

    def debit(
        self, p: Player, request: str, body: Mapping[str, Any], amount: Decimal, keys: tuple[str, str]
    ) -> tuple[Decimal, Decimal]:
        real, bonus = _amount(body, keys[0]), _amount(body, keys[1])
        if money.add(real, bonus) != amount or real < 0 or bonus < 0:
            self.mismatch(p, f"{request} split {real} + {bonus} is not the amount {amount}")
        p.total = money.sub(p.total, amount)
        p.real, p.bonus = money.sub(p.real, real), money.sub(p.bonus, bonus)
        return real, bonus

    def credit(self, p: Player, request: str, body: Mapping[str, Any], amount: Decimal) -> None:
        real, bonus = _amount(body, "realMoneyWin"), _amount(body, "bonusWin")
        if money.add(real, bonus) != amount or real < 0 or bonus < 0:
            self.mismatch(p, f"{request} win split {real} + {bonus} is not the amount {amount}")
        p.total = money.add(p.total, amount)
        p.real, p.bonus = money.add(p.real, real), money.add(p.bonus, bonus)

    def refund(self, p: Player, split: tuple[Decimal, Decimal]) -> None:
        p.real, p.bonus = money.add(p.real, split[0]), money.add(p.bonus, split[1])
        p.total = money.add(p.total, money.add(*split))

    # ------------------------------------------------------------------ game actions

    def bet_amount(self, p: Player) -> Decimal:
        r = p.rng.random()
        if r < 0.6:
            return Decimal(p.rng.choice(["0.1", "0.2", "0.5", "1", "2", "2.5", "5"]))
        if r < 0.9:
            return Decimal(p.rng.randint(1, 300)) / 100
        return Decimal(p.rng.randint(1, 30_000_000_000)) / 10**10  # full Decimal(32,10) precision

    def win_amount(self, p: Player, bet: Decimal) -> Decimal:
        if p.rng.random() < 0.55:
            return money.ZERO
        mult = Decimal(p.rng.randint(1, 5000)) / 1000
        return money.check((bet * mult).quantize(QUANTUM, rounding=ROUND_DOWN))

    async def wager(
        self,
        p: Player,
        rnd: str,
        bet: Decimal,
        *,
        tx: str | None = None,
        style: str = "plain",
        frbid: str | None = None,
    ) -> tuple[str, tuple[Decimal, Decimal]] | None:
        """Place a wager; returns (transaction id, split) when it was accepted."""
        tx = tx or p.next_id("w")
        q = {"gameid": self.cfg.game, "roundid": rnd, "transactionid": tx, "betamount": money.wire(bet)}
        if frbid:
            q["frbid"] = frbid
        body = await self.send_money(p, "wager", q, style)
        should_pass = bet <= p.total
        if body.get("code") == 200:
            if not should_pass:
                self.unexpected(p, "wager", body, f"1006 (bet {bet} above the expected balance {p.total})")
            split = self.debit(p, "wager", body, bet, ("realmoneybet", "bonusmoneybet"))
            self.check_reply_balances(p, "wager", body)
            return tx, split
        if body.get("code") == 1006 and not should_pass:
            self.stats.refusals_expected += 1
            return None
        self.unexpected(p, "wager", body, "200" if should_pass else "1006")
        return None

    async def send_money(self, p: Player, request: str, q: dict[str, str], style: str) -> dict[str, Any]:
        """Send a money request the way aggregators do; return its one definite answer.

        ``dup``: two copies at once, exactly one may be "Success".  ``retry``: the first
        reply is lost and the request sent again.  ``replay``: sent twice in a row.
        """
        if style == "dup":
            self.stats.duplicates_sent += 1
            a, b = await asyncio.gather(self.groove(p, request, q), self.groove(p, request, q))
            if a.get("code") == 200 and b.get("code") == 200:
                statuses = sorted([str(a.get("status")), str(b.get("status"))])
                if statuses != sorted(["Success", DUP]):
                    self.mismatch(p, f"{request} sent twice at once answered {statuses}: money may have moved twice")
                return a if a.get("status") == "Success" else b
            if a.get("code") != b.get("code"):
                self.unexpected(p, request, b, f"the same answer as its concurrent copy ({a.get('code')})")
            return a
        if style == "retry":
            with contextlib.suppress(Lost):
                await self.groove(p, request, q, lose=True)
            body = await self.groove(p, request, q)
            return body
        body = await self.groove(p, request, q)
        if style == "replay":
            self.stats.duplicates_sent += 1
            again = await self.groove(p, request, q)
            if body.get("code") == 200:
                if again.get("code") != 200 or again.get("status") != DUP:
                    self.mismatch(p, f"{request} sent again answered {again.get('code')} {again.get('status')!r}")
                else:
                    self.check_same_tx(p, request, body, again)
            elif again.get("code") != body.get("code"):
                self.unexpected(p, request, again, f"the remembered refusal {body.get('code')}")
        return body

    def check_same_tx(self, p: Player, request: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        for key in ("accounttransactionid", "walletTx"):
            if key in a and a.get(key) != b.get(key):
                self.mismatch(p, f"{request} replay carries {key} {b.get(key)!r}, the original {a.get(key)!r}")

    async def result(
        self,
        p: Player,
        rnd: str,
        win: Decimal,
        status: str = "completed",
        style: str = "plain",
        frbid: str | None = None,
    ) -> None:
        q = {
            "gameid": self.cfg.game,
            "roundid": rnd,
            "transactionid": p.next_id("res"),
            "result": money.wire(win),
            "gamestatus": status,
        }
        if frbid:
            q["frbid"] = frbid
        body = await self.send_money(p, "result", q, style)
        if body.get("code") != 200:
            self.unexpected(p, "result", body, "200")
            return
        self.credit(p, "result", body, win)
        self.check_reply_balances(p, "result", body)

    def style(self, p: Player) -> str:
        r = p.rng.random()
        return "dup" if r < 0.08 else "retry" if r < 0.12 else "replay" if r < 0.16 else "plain"

    async def check_balance(self, p: Player, when: str) -> None:
        body = await self.groove(p, "getbalance", {"nogsgameid": self.cfg.game})
        if body.get("code") != 200:
            self.unexpected(p, "getbalance", body, "200")
            return
        got = (_amount(body, "real_balance"), _amount(body, "bonus_balance"), _amount(body, "balance"))
        if got != (p.real, p.bonus, p.total) or p.total != money.add(p.real, p.bonus):
            self.mismatch(
                p,
                f"{when}: getbalance real {got[0]} bonus {got[1]} balance {got[2]},"
                f" expected real {p.real} bonus {p.bonus} balance {p.total}",
            )

    async def play_round(self, p: Player) -> None:
        rng = p.rng
        await self.check_balance(p, "before a round")
        rnd = p.next_id("r")
        kind = rng.random()
        if kind < 0.50:  # one bet, one completed result
            bet = self.bet_amount(p)
            if await self.wager(p, rnd, bet, style=self.style(p)):
                await self.result(p, rnd, self.win_amount(p, bet), style=self.style(p))
        elif kind < 0.62:  # several bets, pending results, then the completed one
            bets = [self.bet_amount(p) for _ in range(rng.randint(2, 3))]
            placed = [await self.wager(p, rnd, b) for b in bets]
            if any(placed):
                total_bet = sum((b for b, ok in zip(bets, placed, strict=True) if ok), money.ZERO)
                await self.result(p, rnd, self.win_amount(p, total_bet), "pending")
                await self.result(p, rnd, self.win_amount(p, total_bet), "completed", style=self.style(p))
        elif kind < 0.72:  # wagerAndResult
            await self.wager_and_result(p, rnd)
        elif kind < 0.80:  # the game cancels the bet
            bet = self.bet_amount(p)
            placed_bet = await self.wager(p, rnd, bet)
            if placed_bet:
                await self.rollback(p, rnd, placed_bet, style=self.style(p))
        elif kind < 0.85:  # the wager's reply is lost: the aggregator rolls it back
            await self.lost_wager(p, rnd)
        elif kind < 0.89:  # a bet above the balance, refused and refused again
            bet = money.add(p.total, Decimal(rng.randint(1, 1000)) / 100)
            await self.wager(p, rnd, bet, style="replay")
        elif kind < 0.92:  # jackpot beside a normal round
            bet = self.bet_amount(p)
            if await self.wager(p, rnd, bet):
                await self.jackpot(p, rnd)
                await self.result(p, rnd, money.ZERO)
        elif kind < 0.96:  # free round
            if await self.wager(p, rnd, money.ZERO, frbid=p.frbid):
                await self.result(p, rnd, self.win_amount(p, Decimal("1")), frbid=p.frbid)
        else:  # the player reopens the game: a new session
            p.session = await self.new_session(p.account)
            self.stats.new_sessions += 1
            await self.getaccount(p)
        self.stats.rounds_done += 1

    async def wager_and_result(self, p: Player, rnd: str) -> None:
        bet = self.bet_amount(p)
        win = self.win_amount(p, bet)
        q = {
            "gameid": self.cfg.game,
            "roundid": rnd,
            "transactionid": p.next_id("wr"),
            "betamount": money.wire(bet),
            "result": money.wire(win),
            "gamestatus": "completed",
        }
        body = await self.send_money(p, "wagerAndResult", q, self.style(p))
        should_pass = bet <= p.total
        if body.get("code") == 200 and should_pass:
            self.debit(p, "wagerAndResult", body, bet, ("realmoneybet", "bonusmoneybet"))
            self.credit(p, "wagerAndResult", body, win)
            self.check_reply_balances(p, "wagerAndResult", body)
        elif body.get("code") == 1006 and not should_pass:
            self.stats.refusals_expected += 1
        else:
            self.unexpected(p, "wagerAndResult", body, "200" if should_pass else "1006")

    async def rollback(self, p: Player, rnd: str, placed: tuple[str, tuple[Decimal, Decimal]], style: str) -> None:
        tx, split = placed
        self.stats.rollbacks += 1
        body = await self.send_money(
            p, "rollback", {"gameid": self.cfg.game, "roundid": rnd, "transactionid": tx}, style
        )
        if body.get("code") != 200:
            self.unexpected(p, "rollback", body, "200")
            return
        self.refund(p, split)
        self.check_reply_balances(p, "rollback", body)

    async def lost_wager(self, p: Player, rnd: str) -> None:
        """Wager whose reply is lost, then its rollback: the money ends where it started."""
        bet = self.bet_amount(p)
        if bet > p.total:
            return
        tx = p.next_id("w")
        q = {"gameid": self.cfg.game, "roundid": rnd, "transactionid": tx, "betamount": money.wire(bet)}
        with contextlib.suppress(Lost):
            await self.groove(p, "wager", q, lose=True)
        self.stats.rollbacks += 1
        body = await self.groove(p, "rollback", {"gameid": self.cfg.game, "roundid": rnd, "transactionid": tx})
        if body.get("code") not in (200, 102):
            self.unexpected(p, "rollback", body, "200 (the wager arrived) or 102 (it did not)")
            return
        if body.get("code") == 200:
            # debited then refunded to the same balances: the expected balances do not change
            self.check_reply_balances(p, "rollback", body)

    async def jackpot(self, p: Player, rnd: str) -> None:
        amount = Decimal(p.rng.randint(1, 100_000)) / 100
        q = {
            "gameid": self.cfg.game,
            "roundid": rnd,
            "transactionid": p.next_id("jp"),
            "amount": money.wire(amount),
            "gamestatus": "completed",
        }
        body = await self.send_money(p, "jackpot", q, self.style(p))
        if body.get("code") != 200:
            self.unexpected(p, "jackpot", body, "200")
            return
        self.credit(p, "jackpot", body, amount)
        self.check_reply_balances(p, "jackpot", body)

    async def getaccount(self, p: Player) -> None:
        body = await self.groove(p, "getaccount", {})
        if body.get("code") != 200:
            self.unexpected(p, "getaccount", body, "200")
            return
        self.check_reply_balances(p, "getaccount", body)

    async def play(self, p: Player, sem: asyncio.Semaphore) -> None:
        async with sem:
            try:
                await self.getaccount(p)
                for _ in range(self.cfg.rounds):
                    await self.play_round(p)
            except (SimulationError, ValueError, KeyError, ArithmeticError) as exc:
                # no definite answer, or a reply without the fields every reply must have
                self.stats.unexpected.append(f"{p.account}: stopped playing: {exc}")

    async def final_check(self) -> None:
        for p in self.players:
            try:
                await self.check_balance(p, "at the end")
            except (SimulationError, ValueError, KeyError, ArithmeticError) as exc:
                self.mismatch(p, f"no balance at the end: {exc}")
            body = await self.admin("GET", f"/admin/players/{p.account}")
            for w in body["wallets"]:
                if w["currency"] == self.cfg.currency:
                    got = (money.coerce(w["real_balance"]), money.coerce(w["bonus_balance"]))
                    if got != (p.real, p.bonus):
                        self.mismatch(p, f"admin API says real {got[0]} bonus {got[1]}, expected {p.real} / {p.bonus}")
            self.stats.players_checked += 1


async def _progress(sim: Simulation, total: int, started: float) -> None:
    tty = sys.stderr.isatty()
    while sim.stats.rounds_done < total:
        await asyncio.sleep(0.5 if tty else 2.0)
        _print_progress(sim, total, started, tty)


def _print_progress(sim: Simulation, total: int, started: float, tty: bool) -> None:
    s = sim.stats
    elapsed = time.perf_counter() - started
    reqs = sum(s.requests.values())
    line = (
        f"simulate: {s.rounds_done}/{total} rounds, {reqs} requests ({reqs / elapsed if elapsed else 0:.0f}/s),"
        f" {len(s.mismatches)} mismatches, {len(s.unexpected)} unexpected"
    )
    print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)


async def run_simulation(cfg: SimConfig, kind: type[Simulation] = Simulation) -> SimResult:
    """Run the load; ``kind``: the simulation class (``simulate_hub88.MixedSimulation`` for Hub88)."""
    if cfg.players < 1 or cfg.rounds < 0:
        raise SimulationError("--players must be at least 1 and --rounds not negative")
    timeout = aiohttp.ClientTimeout(total=cfg.timeout)
    connector = aiohttp.TCPConnector(limit=max(cfg.concurrency * 2, 20))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        sim = kind(cfg, http)
        await sim.setup()
        started = time.perf_counter()
        total = cfg.players * cfg.rounds
        reporter = asyncio.create_task(_progress(sim, total, started)) if cfg.progress else None
        sem = asyncio.Semaphore(max(cfg.concurrency, 1))
        try:
            await asyncio.gather(*(sim.play(p, sem) for p in sim.players))
            await sim.final_check()
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
                _print_progress(sim, total, started, sys.stderr.isatty())
                if sys.stderr.isatty():
                    print(file=sys.stderr)
        return SimResult(cfg, sim.stats, time.perf_counter() - started, sim.operator)
