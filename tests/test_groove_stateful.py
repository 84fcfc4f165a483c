"""A property-based stateful test of the /groove money path (hypothesis ``RuleBasedStateMachine``).

Random sequences of wagers, results (pending / completed), rollbacks (also before their
wager: tombstones), jackpots, exact replays, parameter mismatches and bad requests over two
players, sent through real HTTP to a real server on its own SQLite file.  A plain model of the
protocol's rules predicts every answer code and every balance.  After every step:

* getbalance == the model's balances for both players, and no balance is negative;
* a refused request changed nothing (admin balances before == after);
* a replay answers ``Success - duplicate request`` with the original transaction id (or the
  original refusal) and the current balances;

and at teardown ``run_audit`` finds the balances equal to the journal, and the journal's
movements per kind (wager, result, rollback, jackpot) equal the model's: money is conserved.

The machine is synchronous and owns its event loop, server and temporary database, so
hypothesis can build a fresh one per example.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from tests.conftest import ADMIN_TOKEN, Api, FakeClock
from wallet_store.audit import AuditReport, run_audit
from wallet_store.sqlite.store import SqliteStore

GAME = "g1"
ZERO = Decimal("0")
QUANTUM = Decimal("0.0000000001")
PLAYERS = {"1001": ("100.5", "50.25"), "1002": ("7.3333333333", "12")}
ACCOUNTS = sorted(PLAYERS)
ROUNDS = ["r1", "r2", "r3", "r4", "r5", "r6"]
BETS = ["0", "0.0000000001", "1", "2.5", "7.3333333333", "10", "33.3333333333", "60", "120", "500", "-1"]
WINS = ["0", "0.0000000001", "1", "3.5", "10", "99.9999999999", "250"]
MALFORMED = ["1e3", "abc", "1.00000000001", "NaN", "", "Infinity", "0x1"]
DUP = "Success - duplicate request"
BALANCE_FIELDS = {"balance", "real_balance", "bonus_balance", "game_mode"}
ID_FIELDS = ("accounttransactionid", "walletTx")


@dataclass
class RoundModel:
    closed: bool = False
    real_bet: Decimal = ZERO
    bonus_bet: Decimal = ZERO
    wagers: int = 0
    results: int = 0


@dataclass
class WagerModel:
    account: str
    round: str
    amount: str
    ok: bool
    real: Decimal = ZERO
    bonus: Decimal = ZERO


@dataclass
class Sent:
    request: str
    account: str
    params: dict[str, str]
    reply: dict[str, Any]


def win_split(amount: Decimal, real_bet: Decimal, bonus_bet: Decimal) -> tuple[Decimal, Decimal]:
    """The documented rule: bonus share = amount * bonus_bet / total rounded down; all real if no bet."""
    total = real_bet + bonus_bet
    if total == 0:
        return amount, ZERO
    with localcontext() as ctx:
        ctx.prec = 80
        bonus = (amount * bonus_bet / total).quantize(QUANTUM, rounding=ROUND_DOWN)
    return amount - bonus, bonus


class GrooveWalletMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory(prefix="gw-stateful-")
        self.db = os.path.join(self.tmp.name, "wallet.db")
        self.client: TestClient | None = None
        try:
            self.client, self.sessions = self.run(self._start())
        except BaseException:
            self._close()
            raise
        self.api = Api(self.client)
        self.wallets = {a: [Decimal(r), Decimal(b)] for a, (r, b) in PLAYERS.items()}
        self.rounds: dict[tuple[str, str], RoundModel] = {}
        self.wagers: dict[str, WagerModel] = {}
        self.rolled_back: set[str] = set()  # transaction ids a rollback was sent for
        self.tombstones: list[tuple[str, str, str]] = []  # (account, round, transactionid)
        self.sent: list[Sent] = []  # requests whose outcome the wallet remembers
        self.flows: dict[str, dict[str, Decimal]] = {a: {} for a in ACCOUNTS}  # kind -> net money moved
        self.counter = 0

    # ------------------------------------------------------------------ plumbing

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self) -> tuple[TestClient, dict[str, str]]:
        settings_ = Settings(database_url=f"sqlite:///{self.db}", admin_token=SecretStr(ADMIN_TOKEN))
        app = create_app(settings_, store=SqliteStore(self.db), clock=FakeClock())
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            api = Api(client)
            await api.operator("11")
            for account, (real, bonus) in PLAYERS.items():
                await api.player(account, real=real, bonus=bonus)
            sessions = {account: await api.session(account) for account in PLAYERS}
        except BaseException:
            await client.close()
            raise
        return client, sessions

    async def _audit(self) -> tuple[AuditReport, dict[str, dict[str, Decimal]]]:
        store = SqliteStore(self.db)
        await store.open()
        try:
            report = await run_audit(store)
            flows: dict[str, dict[str, Decimal]] = {a: {} for a in ACCOUNTS}
            async for e in store.journal():
                if e.kind != "initial":
                    f = flows[e.account_id]
                    f[e.kind] = f.get(e.kind, ZERO) + e.real_delta + e.bonus_delta
            return report, flows
        finally:
            await store.close()

    def _close(self) -> None:
        try:
            if self.client is not None:
                self.run(self.client.close())
                self.client = None
        finally:
            self.loop.close()
            self.tmp.cleanup()

    def teardown(self) -> None:
        try:
            if self.client is not None:
                self.run(self.client.close())
                self.client = None
            report, flows = self.run(self._audit())
            assert report.ok, report.text()
            assert report.wallets == len(PLAYERS)
            # money conserved: the journal's movements per kind are exactly the model's
            model = {a: {k: v for k, v in f.items() if v != 0} for a, f in self.flows.items()}
            assert {a: {k: v for k, v in f.items() if v != 0} for a, f in flows.items()} == model
        finally:
            self._close()

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def common(self, account: str) -> dict[str, str]:
        return {
            "accountid": account,
            "gamesessionid": self.sessions[account],
            "device": "desktop",
            "apiversion": "1.2",
            "gameid": GAME,
        }

    def admin_balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        return {a: self.run(self.api.balances(a)) for a in ACCOUNTS}

    def send(self, request: str, account: str, params: dict[str, str], expect: int) -> dict[str, Any]:
        """Send; check the code; a refusal must change nothing; a success reports the model's balances."""
        before = self.admin_balances()
        reply: dict[str, Any] = self.run(self.api.groove(request, **params))
        assert reply["code"] == expect, (request, params, reply)
        if reply["code"] != 200:
            assert set(reply) == {"code", "status", "message", "apiversion"}, reply
            assert self.admin_balances() == before, (request, params, reply)
        return reply

    def check_reply_balances(self, reply: dict[str, Any], account: str) -> None:
        real, bonus = self.wallets[account]
        assert (reply["real_balance"], reply["bonus_balance"], reply["balance"]) == (real, bonus, real + bonus), reply

    def remember(self, request: str, account: str, params: dict[str, str], reply: dict[str, Any]) -> None:
        self.sent.append(Sent(request, account, params, reply))

    def flow(self, account: str, kind: str, amount: Decimal) -> None:
        self.flows[account][kind] = self.flows[account].get(kind, ZERO) + amount

    # ------------------------------------------------------------------ rules

    @rule(account=st.sampled_from(ACCOUNTS), rnd=st.sampled_from(ROUNDS), amount=st.sampled_from(BETS))
    def wager(self, account: str, rnd: str, amount: str) -> None:
        tx = self.fresh("w")
        params = self.common(account) | {"roundid": rnd, "transactionid": tx, "betamount": amount}
        a = Decimal(amount)
        r = self.rounds.get((account, rnd))
        wallet = self.wallets[account]
        if a < 0:
            expect = 110
        elif r is not None and r.closed:
            expect = 409
        elif a > wallet[0] + wallet[1]:
            expect = 1006
        else:
            expect = 200
        reply = self.send("wager", account, params, expect)
        if expect == 200:
            real = min(wallet[0], a)
            bonus = a - real
            assert (reply["realmoneybet"], reply["bonusmoneybet"]) == (real, bonus), reply
            assert reply["status"] == "Success"
            wallet[0] -= real
            wallet[1] -= bonus
            self.flow(account, "wager", -a)
            r = self.rounds.setdefault((account, rnd), RoundModel())
            r.real_bet += real
            r.bonus_bet += bonus
            r.wagers += 1
            self.check_reply_balances(reply, account)
            self.wagers[tx] = WagerModel(account, rnd, amount, True, real, bonus)
        else:
            self.wagers[tx] = WagerModel(account, rnd, amount, False)
        self.remember("wager", account, params, reply)

    @rule(
        account=st.sampled_from(ACCOUNTS),
        rnd=st.sampled_from(ROUNDS),
        amount=st.sampled_from(WINS),
        status=st.sampled_from(["pending", "completed"]),
    )
    def result(self, account: str, rnd: str, amount: str, status: str) -> None:
        tx = self.fresh("res")
        params = self.common(account) | {"roundid": rnd, "transactionid": tx, "result": amount, "gamestatus": status}
        r = self.rounds.get((account, rnd))
        if r is None or r.wagers == 0:
            expect = 102
        elif r.closed:
            expect = 409
        else:
            expect = 200
        reply = self.send("result", account, params, expect)
        if r is not None and expect == 200:
            real, bonus = win_split(Decimal(amount), r.real_bet, r.bonus_bet)
            assert (reply["realMoneyWin"], reply["bonusWin"]) == (real, bonus), (r, reply)
            assert reply["status"] == "Success"
            self.wallets[account][0] += real
            self.wallets[account][1] += bonus
            self.flow(account, "result", Decimal(amount))
            r.results += 1
            r.closed = status == "completed"
            self.check_reply_balances(reply, account)
        self.remember("result", account, params, reply)

    @precondition(lambda self: any(tx not in self.rolled_back for tx in self.wagers))
    @rule(data=st.data(), with_amount=st.booleans())
    def rollback(self, data: st.DataObject, with_amount: bool) -> None:
        tx = data.draw(st.sampled_from(sorted(tx for tx in self.wagers if tx not in self.rolled_back)))
        w = self.wagers[tx]
        params = self.common(w.account) | {"roundid": w.round, "transactionid": tx}
        if with_amount:
            params["rollbackamount"] = w.amount
        r = self.rounds.get((w.account, w.round))
        if not w.ok:
            expect = 102
        elif r is not None and r.results > 0:
            expect = 110
        else:
            expect = 200
        reply = self.send("rollback", w.account, params, expect)
        self.rolled_back.add(tx)
        if r is not None and expect == 200:
            self.wallets[w.account][0] += w.real
            self.wallets[w.account][1] += w.bonus
            self.flow(w.account, "rollback", w.real + w.bonus)
            r.real_bet -= w.real
            r.bonus_bet -= w.bonus
            r.wagers -= 1
            self.check_reply_balances(reply, w.account)
        self.remember("rollback", w.account, params, reply)

    @rule(account=st.sampled_from(ACCOUNTS), rnd=st.sampled_from(ROUNDS))
    def rollback_before_wager(self, account: str, rnd: str) -> None:
        tx = self.fresh("early")
        params = self.common(account) | {"roundid": rnd, "transactionid": tx}
        reply = self.send("rollback", account, params, 102)
        self.rolled_back.add(tx)
        self.tombstones.append((account, rnd, tx))
        self.remember("rollback", account, params, reply)

    @precondition(lambda self: bool(self.tombstones))
    @rule(data=st.data(), amount=st.sampled_from(["0", "1", "5"]))
    def late_wager_never_debits(self, data: st.DataObject, amount: str) -> None:
        account, rnd, tx = data.draw(st.sampled_from(self.tombstones))
        self.tombstones.remove((account, rnd, tx))
        params = self.common(account) | {"roundid": rnd, "transactionid": tx, "betamount": amount}
        before = self.admin_balances()
        reply: dict[str, Any] = self.run(self.api.groove("wager", **params))
        assert reply["code"] in (409, 110), reply
        assert self.admin_balances() == before
        self.remember("wager", account, params, reply)

    @rule(account=st.sampled_from(ACCOUNTS), amount=st.sampled_from(WINS))
    def jackpot(self, account: str, amount: str) -> None:
        tx = self.fresh("jp")
        params = self.common(account) | {
            "roundid": tx,
            "transactionid": tx,
            "amount": amount,
            "gamestatus": "completed",
        }
        reply = self.send("jackpot", account, params, 200)
        assert (reply["realMoneyWin"], reply["bonusWin"]) == (Decimal(amount), ZERO), reply
        self.wallets[account][0] += Decimal(amount)
        self.flow(account, "jackpot", Decimal(amount))
        self.check_reply_balances(reply, account)
        self.remember("jackpot", account, params, reply)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """The same request again: the original outcome, current balances, nothing moves."""
        s = data.draw(st.sampled_from(self.sent))
        reply = self.send(s.request, s.account, s.params, s.reply["code"])
        if s.reply["code"] == 200:
            assert reply["status"] == DUP, reply
            for k in ID_FIELDS:
                assert reply.get(k) == s.reply.get(k), (k, s.reply, reply)
            skip = BALANCE_FIELDS | {"status"}
            assert {k: v for k, v in reply.items() if k not in skip} == {
                k: v for k, v in s.reply.items() if k not in skip
            }
            self.check_reply_balances(reply, s.account)
        else:
            assert reply["status"] == s.reply["status"]

    @precondition(lambda self: any(mismatch_answer(s) is not None for s in self.sent))
    @rule(data=st.data())
    def mismatch(self, data: st.DataObject) -> None:
        """The same transaction id with a different amount (or round): nothing moves.

        400 against a success or a remembered refusal; a rollback naming another round is
        answered by its wager (110, or its original refusal), never 400 (issue 14, defect 3).
        """
        s = data.draw(st.sampled_from([s for s in self.sent if mismatch_answer(s) is not None]))
        field = {"wager": "betamount", "result": "result", "jackpot": "amount", "rollback": "roundid"}[s.request]
        old = s.params[field]
        new = old + "x" if field == "roundid" else str(Decimal(old) + 1)
        expect = mismatch_answer(s)
        assert expect is not None
        self.send(s.request, s.account, s.params | {field: new}, expect)

    @rule(
        kind=st.sampled_from(["malformed", "missing", "foreign_session", "unknown_account", "bad_status"]),
        account=st.sampled_from(ACCOUNTS),
        bad=st.sampled_from(MALFORMED),
    )
    def bad_request(self, kind: str, account: str, bad: str) -> None:
        tx = self.fresh("bad")
        base = self.common(account) | {"roundid": "r1", "transactionid": tx}
        if kind == "malformed":
            self.send("wager", account, base | {"betamount": bad}, 1008)
        elif kind == "missing":
            params = base | {"betamount": "1"}
            del params["transactionid"]
            self.send("wager", account, params, 1008)
        elif kind == "foreign_session":
            other = next(a for a in ACCOUNTS if a != account)
            self.send("wager", account, base | {"betamount": "1", "gamesessionid": self.sessions[other]}, 1000)
        elif kind == "unknown_account":
            self.send("result", account, base | {"accountid": "999999", "result": "5", "gamestatus": "completed"}, 110)
        else:
            open_rounds = [rnd for (a, rnd), r in self.rounds.items() if a == account and r.wagers and not r.closed]
            if not open_rounds:
                self.send("wager", account, base | {"betamount": bad}, 1008)
                return
            params = base | {"roundid": open_rounds[0], "result": "5", "gamestatus": "done"}
            reply = self.send("result", account, params, 110)
            self.remember("result", account, params, reply)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def balances_equal_the_model(self) -> None:
        for account in ACCOUNTS:
            body = self.run(self.api.groove("getbalance", **self.common(account) | {"nogsgameid": GAME}))
            assert body["code"] == 200, body
            real, bonus = self.wallets[account]
            assert (body["real_balance"], body["bonus_balance"], body["balance"]) == (real, bonus, real + bonus), (
                account,
                body,
                (real, bonus),
            )
            assert body["real_balance"] >= 0
            assert body["bonus_balance"] >= 0


def mismatch_answer(s: Sent) -> int | None:
    """The code for ``s`` sent again with another amount (round for a rollback), or None when
    it depends on state the model does not track (the request is then decided afresh)."""
    code = int(s.reply["code"])
    if s.request == "rollback":
        return 110 if code == 200 else code
    if code == 200:
        return 400
    if s.request == "wager":
        # 110 is a negative amount: not remembered, so the new amount is decided afresh
        return None if code == 110 else 400
    if s.request == "result" and code == 110:
        return 110  # a bad gamestatus, not remembered: still a bad gamestatus
    return None  # a result refused 102 / 409 does not block another amount: decided afresh


GrooveWalletMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestGrooveWalletStateful = GrooveWalletMachine.TestCase
