"""``simulate --protocol hub88|mixed``: Hub88 load, alone or mixed with Groove on the same players.

A Hub88 round is played with the requests Hub88 sends (``groove_client.hub88``: compact JSON
bodies signed with the Hub88 private key, amounts x 100 000): ``/user/balance`` before the
round, then one of: a bet and its win (the win often 0), a bet and its rollback, a bet whose
reply is lost and its rollback (the money ends where it started either way), a bet above the
balance (``RS_ERROR_NOT_ENOUGH_MONEY`` with the balance).  Money requests are sent as Hub88
does: sometimes two copies at once, a copy again after the reply, or again after a lost reply;
each ``transaction_uuid`` must move money once and every copy must answer ``RS_OK`` with the
same balance.

``mixed``: each round is a Groove round or a Hub88 round at random, so the same player's
wallet is moved by both protocols, and every reply of either must show the balance the
simulator expects.  Players start without bonus money (Hub88 has one balance, so every move is
real money and the Groove splits stay predictable), and every amount is a whole number of
0.00001 (the finest amount Hub88 can show).

Setup, as for Groove, goes through the admin API: the fresh operator is given the public half
of the signing key with ``PUT /admin/operators/{id}/hub88`` (``enabled``, ``public_key_pem``);
a Hub88 ``token`` is one of our game sessions and ``user`` the account id.  Imports nothing of
the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

import aiohttp
from yarl import URL

from . import hub88, money
from .jsonio import loads
from .simulate import Lost, Player, SimConfig, SimResult, Simulation, SimulationError, run_simulation

HUB88_QUANTUM: Final = Decimal("0.00001")
PROTOCOLS: Final = ("groove", "hub88", "mixed")


class MixedSimulation(Simulation):
    """The Groove simulation with Hub88 rounds (``protocol`` hub88: only those)."""

    bonus_cents = (0,)

    def __init__(self, cfg: SimConfig, http: aiohttp.ClientSession) -> None:
        super().__init__(cfg, http)
        if cfg.protocol not in ("hub88", "mixed"):
            raise SimulationError(f"protocol {cfg.protocol!r}: give hub88 or mixed")
        try:
            self.signer = hub88.Signer.from_pem(cfg.hub88_key_pem) if cfg.hub88_key_pem else hub88.Signer.generate()
        except (ValueError, TypeError) as exc:
            raise SimulationError(f"the Hub88 key: {exc}") from None
        self.hub88_url = (cfg.hub88_url or f"{URL(cfg.url).origin()}/hub88").rstrip("/")

    @property
    def only_hub88(self) -> bool:
        return self.cfg.protocol == "hub88"

    async def setup(self) -> None:
        await self.create_operator()
        body = {"enabled": True, "public_key_pem": self.signer.public_pem()}
        await self.admin("PUT", f"/admin/operators/{self.operator}/hub88", body)
        await self.create_players()

    # ------------------------------------------------------------------ amounts Hub88 can show

    def bet_amount(self, p: Player) -> Decimal:
        return max(super().bet_amount(p).quantize(HUB88_QUANTUM, rounding=ROUND_DOWN), HUB88_QUANTUM)

    def win_amount(self, p: Player, bet: Decimal) -> Decimal:
        return super().win_amount(p, bet).quantize(HUB88_QUANTUM, rounding=ROUND_DOWN)

    # ------------------------------------------------------------------ transport

    def bodies(self, p: Player) -> hub88.Bodies:
        return hub88.Bodies(
            hub88.Player(user=p.account, token=p.session, currency=self.cfg.currency, game=self.cfg.game)
        )

    async def hub88(self, p: Player, endpoint: str, body: dict[str, Any], *, lose: bool = False) -> dict[str, Any]:
        """One signed request, retried on a technical failure; ``lose`` drops the reply."""
        raw = hub88.encode(body)
        headers = {hub88.HEADER: self.signer.sign(raw), "Content-Type": "application/json"}
        url = self.hub88_url + hub88.PATH[endpoint]
        self.stats.requests[f"hub88 {endpoint}"] += 1
        if lose:
            self.stats.lost_replies += 1
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                await asyncio.wait_for(self._post(url, raw, headers), timeout=p.rng.uniform(0.0002, 0.004))
            raise Lost
        for attempt in range(5):
            try:
                status, text = await self._post(url, raw, headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                status, text = 0, repr(exc)
            reply = _reply(status, text)
            if reply is not None:
                self.stats.codes[f"hub88 {endpoint}:{reply['status']}"] += 1
                if reply.get("request_uuid") != body.get("request_uuid"):
                    self.stats.unexpected.append(f"{p.account} hub88 {endpoint}: request_uuid not echoed: {reply}")
                return reply
            self.stats.technical_retries += 1
            await asyncio.sleep(0.05 * (attempt + 1))
        raise SimulationError(f"hub88 {endpoint} for {p.account}: no definite answer after 5 tries")

    async def _post(self, url: str, raw: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.http.post(url, data=raw, headers=headers) as resp:
            return resp.status, await resp.text()

    # ------------------------------------------------------------------ bookkeeping

    def check_hub88_balance(self, p: Player, what: str, reply: dict[str, Any]) -> None:
        got = reply.get("balance")
        if not hub88.is_int(got) or got != hub88.units(p.total):
            self.mismatch(p, f"{what}: Hub88 balance {got!r}, expected {hub88.units(p.total)} ({p.total})")

    def expect(self, p: Player, what: str, reply: dict[str, Any], status: str) -> bool:
        if reply.get("status") != status:
            self.stats.unexpected.append(f"{p.account} {what}: expected {status}, got {reply.get('status')!r}")
            return False
        return True

    def move(self, p: Player, amount: Decimal) -> None:
        """A Hub88 move: the player has real money only (see the module), so real follows total."""
        p.total = money.add(p.total, amount)
        p.real = money.add(p.real, amount)

    # ------------------------------------------------------------------ Hub88 requests

    async def hub88_balance(self, p: Player, when: str) -> None:
        reply = await self.hub88(p, "balance", self.bodies(p).balance())
        if self.expect(p, "hub88 balance", reply, "RS_OK"):
            self.check_hub88_balance(p, when, reply)

    async def send_hub88(self, p: Player, endpoint: str, body: dict[str, Any], style: str) -> dict[str, Any]:
        """A money request sent as Hub88 does (see :meth:`Simulation.send_money`); its answer.
        Every copy must answer alike: the same status and balance."""
        if style == "dup":
            self.stats.duplicates_sent += 1
            a, b = await asyncio.gather(self.hub88(p, endpoint, body), self.hub88(p, endpoint, body))
            if (a.get("status"), a.get("balance")) != (b.get("status"), b.get("balance")):
                self.mismatch(p, f"hub88 {endpoint} sent twice at once answered {a} and {b}")
            return a
        if style == "retry":
            with contextlib.suppress(Lost):
                await self.hub88(p, endpoint, body, lose=True)
            return await self.hub88(p, endpoint, body)
        reply = await self.hub88(p, endpoint, body)
        if style == "replay":
            self.stats.duplicates_sent += 1
            again = await self.hub88(p, endpoint, body)
            if (again.get("status"), again.get("balance")) != (reply.get("status"), reply.get("balance")):
                self.mismatch(p, f"hub88 {endpoint} sent again answered {again}, first {reply}")
        return reply

    async def hub88_bet(self, p: Player, rnd: str, bet: Decimal, style: str = "plain") -> str | None:
        """Place a bet; its transaction_uuid when it was accepted."""
        body = self.bodies(p).bet(hub88.units(bet), rnd=rnd)
        reply = await self.send_hub88(p, "bet", body, style)
        if bet > p.total:
            if self.expect(p, "hub88 bet above the balance", reply, "RS_ERROR_NOT_ENOUGH_MONEY"):
                self.stats.refusals_expected += 1
                self.check_hub88_balance(p, "hub88 bet refused", reply)
            return None
        if not self.expect(p, "hub88 bet", reply, "RS_OK"):
            return None
        self.move(p, -bet)
        self.check_hub88_balance(p, "hub88 bet", reply)
        return str(body["transaction_uuid"])

    async def hub88_win(self, p: Player, rnd: str, bet_uuid: str, win: Decimal) -> None:
        body = self.bodies(p).win(bet_uuid, hub88.units(win), round=rnd)
        reply = await self.send_hub88(p, "win", body, self.style(p))
        if self.expect(p, "hub88 win", reply, "RS_OK"):
            self.move(p, win)
            self.check_hub88_balance(p, "hub88 win", reply)

    async def hub88_rollback(self, p: Player, rnd: str, bet_uuid: str, refund: Decimal) -> None:
        self.stats.rollbacks += 1
        reply = await self.send_hub88(p, "rollback", self.bodies(p).rollback(bet_uuid, rnd=rnd), self.style(p))
        if self.expect(p, "hub88 rollback", reply, "RS_OK"):
            self.move(p, refund)
            self.check_hub88_balance(p, "hub88 rollback", reply)

    async def hub88_lost_bet(self, p: Player, rnd: str) -> None:
        """A bet whose reply is lost, then its rollback: the money ends where it started."""
        bet = self.bet_amount(p)
        if bet > p.total:
            return
        body = self.bodies(p).bet(hub88.units(bet), rnd=rnd)
        with contextlib.suppress(Lost):
            await self.hub88(p, "bet", body, lose=True)
        await self.hub88_rollback(p, rnd, str(body["transaction_uuid"]), money.ZERO)

    # ------------------------------------------------------------------ rounds

    async def hub88_round(self, p: Player) -> None:
        await self.hub88_balance(p, "before a Hub88 round")
        rnd = p.next_id("h")
        kind = p.rng.random()
        if kind < 0.6:  # a bet and its win
            bet = self.bet_amount(p)
            if (placed := await self.hub88_bet(p, rnd, bet, self.style(p))) is not None:
                await self.hub88_win(p, rnd, placed, self.win_amount(p, bet))
        elif kind < 0.75:  # the game cancels the bet
            bet = self.bet_amount(p)
            if (placed := await self.hub88_bet(p, rnd, bet)) is not None:
                await self.hub88_rollback(p, rnd, placed, bet)
        elif kind < 0.9:
            await self.hub88_lost_bet(p, rnd)
        else:  # above the balance: refused with the balance, and refused again
            await self.hub88_bet(p, rnd, money.add(p.total, Decimal(p.rng.randint(1, 1000)) / 100), "replay")
        self.stats.rounds_done += 1

    async def play_round(self, p: Player) -> None:
        if self.only_hub88 or p.rng.random() < 0.5:
            await self.hub88_round(p)
        else:
            await super().play_round(p)

    async def getaccount(self, p: Player) -> None:
        if self.only_hub88:
            await self.hub88_balance(p, "when the game opens")
        else:
            await super().getaccount(p)

    async def check_balance(self, p: Player, when: str) -> None:
        if not self.only_hub88:
            await super().check_balance(p, when)
        await self.hub88_balance(p, when)


def _reply(status: int, text: str) -> dict[str, Any] | None:
    """A definite Hub88 answer: HTTP 200, a JSON object with a known ``status``."""
    if status != 200:
        return None
    try:
        body = loads(text)
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("status") in hub88.STATUSES:
        return dict(body)
    return None


async def run(cfg: SimConfig) -> SimResult:
    """``simulate`` for any protocol."""
    if cfg.protocol not in PROTOCOLS:
        raise SimulationError(f"--protocol must be one of {', '.join(PROTOCOLS)}")
    if cfg.protocol == "groove":
        return await run_simulation(cfg)
    return await run_simulation(cfg, MixedSimulation)
