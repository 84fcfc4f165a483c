"""Crash test: kill -9 the real server under load and check that nothing acknowledged is lost.

    python tools/crashtest.py --kills 20 --seconds 60

Starts ``groove-wallet serve`` on a temporary SQLite file, seeds players (real money only,
so every movement is additive and the expected balance is a plain sum), drives concurrent
wagers / results / rollbacks, and ``kill -9``s the server at random moments, restarting it on
the same file each time.  At the end (server up once more):

* every request sent (acknowledged or not) is replayed until it gets a definite answer;
* an acknowledged request's replay must be code 200 with the SAME transaction id
  (``accounttransactionid`` / ``walletTx``) and status "Success - duplicate request";
* each wallet's real balance must equal start - applied wagers + applied wins + refunds,
  where "applied" is what the final replay says (a request that was never acknowledged
  may have been applied or not, but never half);
* ``groove-wallet audit`` must exit 0.

Prints the counts and exits 1 on any violation.  The server is always killed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from groove_adapter.jsonout import loads

ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = Path(sys.executable).parent / "groove-wallet"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "groove_adapter.cli"]
ADMIN_TOKEN = "crashtest-admin-token-5b1e"  # noqa: S105 - a throwaway server on a temp db
OPERATOR = "11"
GAME = "80102"
START_REAL = Decimal("1000000")
STARTUP_BOUND = 60.0
DUPLICATE = "Success - duplicate request"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GW_")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line, fixed arguments
        [*CLI, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )


class Server:
    """``groove-wallet serve`` on a fixed port; restarted on the same database after each kill."""

    def __init__(self, database: str, workdir: Path) -> None:
        self.database = database
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with open(self.workdir / "serve.stderr", "ab") as err, open(self.workdir / "serve.stdout", "ab") as out:
            cmd = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--database", self.database]
            self.proc = subprocess.Popen(  # noqa: S603
                [*cmd, "--admin-token", ADMIN_TOKEN], cwd=ROOT, env=_env(), stdout=out, stderr=err
            )

    async def wait_healthy(self, http: aiohttp.ClientSession) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_BOUND
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.stderr_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                async with http.get(f"{self.base}/readyz") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready: {self.stderr_tail()}")
            await asyncio.sleep(0.05)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Always leaves no process behind."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def stderr_tail(self) -> str:
        p = self.workdir / "serve.stderr"
        return p.read_text(errors="replace")[-2000:] if p.exists() else ""


@dataclass
class Sent:
    """One money request and what we learned about it."""

    kind: str  # wager | result | rollback
    params: dict[str, str]
    amount: Decimal  # bet, win, or the refunded bet
    acked: dict[str, Any] | None = None  # the code-200 reply, if one arrived
    final: dict[str, Any] | None = None  # the reply to the final replay


@dataclass
class Stats:
    sent: int = 0
    acked: int = 0
    refused: int = 0  # a definite non-200 answer during the run
    lost: int = 0  # no answer (connection cut by a kill)
    kills: int = 0
    violations: list[str] = field(default_factory=list)


def _txid(reply: dict[str, Any]) -> Any:
    return reply.get("accounttransactionid", reply.get("walletTx"))


class Driver:
    def __init__(self, server: Server, players: dict[str, str], seed: int) -> None:
        self.server = server
        self.players = players  # account -> session id
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.log: list[Sent] = []
        self.ids = itertools.count(1)
        # rounds whose wager was acknowledged and that have not been resulted/rolled back yet
        self.open_rounds: dict[str, list[Sent]] = {a: [] for a in players}
        self.unacked_wagers: dict[str, list[Sent]] = {a: [] for a in players}

    def _common(self, account: str) -> dict[str, str]:
        return {
            "accountid": account,
            "gamesessionid": self.players[account],
            "device": "desktop",
            "apiversion": "1.2",
            "gameid": GAME,
        }

    def _amount(self) -> Decimal:
        return Decimal(self.rng.randint(1, 5000)) / 100

    def next_request(self, account: str) -> Sent:
        r = self.rng.random()
        n = next(self.ids)
        if r < 0.25 and self.open_rounds[account]:
            w = self.open_rounds[account].pop(self.rng.randrange(len(self.open_rounds[account])))
            win = self._amount() if self.rng.random() < 0.6 else Decimal(0)
            p = self._common(account) | {
                "request": "result",
                "roundid": w.params["roundid"],
                "transactionid": f"res-{n}",
                "result": str(win),
                "gamestatus": "completed",
            }
            return Sent("result", p, win)
        if r < 0.40 and (self.open_rounds[account] or self.unacked_wagers[account]):
            pool = self.unacked_wagers[account] if self.unacked_wagers[account] else self.open_rounds[account]
            w = pool.pop(self.rng.randrange(len(pool)))
            p = self._common(account) | {
                "request": "rollback",
                "roundid": w.params["roundid"],
                "transactionid": w.params["transactionid"],
            }
            return Sent("rollback", p, w.amount)
        bet = self._amount()
        p = self._common(account) | {
            "request": "wager",
            "roundid": f"r-{n}",
            "transactionid": f"w-{n}",
            "betamount": str(bet),
        }
        return Sent("wager", p, bet)

    async def send(self, http: aiohttp.ClientSession, s: Sent) -> dict[str, Any] | None:
        try:
            async with http.get(f"{self.server.base}/groove", params=s.params) as resp:
                if resp.status != 200:
                    self.stats.violations.append(f"HTTP {resp.status} for {s.params}")
                    return None
                body: dict[str, Any] = loads(await resp.text())
                return body
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None

    async def worker(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        accounts = list(self.players)
        while not stop.is_set():
            account = self.rng.choice(accounts)
            s = self.next_request(account)
            self.log.append(s)
            self.stats.sent += 1
            body = await self.send(http, s)
            if body is None:
                self.stats.lost += 1
                if s.kind == "wager":
                    self.unacked_wagers[account].append(s)
                await asyncio.sleep(0.02)  # the server is down; do not spin
                continue
            if body.get("code") == 1:
                self.stats.violations.append(f"technical error during the run: {s.params} -> {body}")
            if body.get("code") == 200:
                self.stats.acked += 1
                s.acked = body
                if s.kind == "wager":
                    self.open_rounds[account].append(s)
            else:
                self.stats.refused += 1

    async def killer(self, http: aiohttp.ClientSession, kills: int, seconds: float, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + seconds
        for i in range(kills):
            left = max(deadline - time.monotonic(), 0.0)
            gap = left / (kills - i)
            await asyncio.sleep(self.rng.uniform(0.3, 1.0) * gap)
            self.server.kill9()
            self.stats.kills += 1
            self.server.start()
            await self.server.wait_healthy(http)
        await asyncio.sleep(max(deadline - time.monotonic(), 0.2))
        stop.set()

    async def replay_all(self, http: aiohttp.ClientSession) -> None:
        """Replay every sent request until it gets a definite answer (the server stays up now)."""
        sem = asyncio.Semaphore(32)

        async def one(s: Sent) -> None:
            async with sem:
                for _ in range(5):
                    body = await self.send(http, s)
                    if body is not None and body.get("code") != 1:
                        s.final = body
                        return
                self.stats.violations.append(f"no definite answer on replay: {s.params}")

        # wagers first, so an unacknowledged wager that was never applied is evaluated before the
        # results/rollbacks that refer to it are replayed (they were evaluated against the live state
        # at their own time; order only matters for the never-applied, never-acked ones)
        for kind in ("wager", "result", "rollback"):
            await asyncio.gather(*(one(s) for s in self.log if s.kind == kind))

    def check_replies(self) -> None:
        for s in self.log:
            if s.final is None:
                continue
            if s.acked is not None:
                f = s.final
                if f.get("code") != 200 or f.get("status") != DUPLICATE or _txid(f) != _txid(s.acked):
                    self.stats.violations.append(f"acknowledged {s.params} -> {s.acked}; replay -> {f}")

    def expected_real(self) -> dict[str, Decimal]:
        exp = {a: START_REAL for a in self.players}
        for s in self.log:
            if s.final is None or s.final.get("code") != 200:
                continue
            a = s.params["accountid"]
            if s.kind == "wager":
                exp[a] -= s.amount
            else:  # a win paid, or a bet refunded
                exp[a] += s.amount
        return exp


async def _seed(http: aiohttp.ClientSession, base: str, n_players: int) -> dict[str, str]:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(f"{base}{path}", json=body, headers=auth) as resp:
            text = await resp.text()
            if resp.status != 201:
                raise RuntimeError(f"seed {path}: {resp.status} {text}")
            out: dict[str, Any] = loads(text)
            return out

    await post("/admin/operators", {"operator_id": OPERATOR, "name": "Crash Casino", "currency": "EUR"})
    players: dict[str, str] = {}
    for i in range(n_players):
        acct = f"77{i:04d}"
        await post(
            "/admin/players",
            {
                "operator_id": OPERATOR,
                "account_id": acct,
                "name": f"Crash {i}",
                "email": f"crash{i}@example.com",
                "country": "MT",
                "city": "Valletta",
                "real_balance": str(START_REAL),
                "bonus_balance": "0",
            },
        )
        sess = await post("/admin/sessions", {"account_id": acct, "game_id": GAME, "ttl_seconds": 7 * 86400})
        players[acct] = str(sess["gamesessionid"])
    return players


async def _balances(http: aiohttp.ClientSession, base: str, accounts: list[str]) -> dict[str, tuple[Decimal, Decimal]]:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for a in accounts:
        async with http.get(f"{base}/admin/players/{a}", headers=auth) as resp:
            body = loads(await resp.text())
        (w,) = [w for w in body["wallets"] if w["currency"] == "EUR"]
        out[a] = (Decimal(str(w["real_balance"])), Decimal(str(w["bonus_balance"])))
    return out


async def run_crashtest(
    *, kills: int, seconds: float, workers: int = 16, players: int = 6, seed: int | None = None, workdir: Path
) -> Stats:
    seed = random.randrange(2**32) if seed is None else seed
    database = f"sqlite:///{workdir / 'wallet.db'}"
    mig = cli("migrate", "--database", database)
    if mig.returncode != 0:
        raise RuntimeError(f"migrate failed: {mig.stderr}")
    server = Server(database, workdir)
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            server.start()
            await server.wait_healthy(http)
            accounts = await _seed(http, server.base, players)
            driver = Driver(server, accounts, seed)
            stop = asyncio.Event()
            tasks = [asyncio.create_task(driver.worker(http, stop)) for _ in range(workers)]
            try:
                await driver.killer(http, kills, seconds, stop)
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
            # one last kill with requests possibly in flight is already covered; make sure the server is up
            if server.proc is None or server.proc.poll() is not None:
                server.start()
            await server.wait_healthy(http)
            await driver.replay_all(http)
            driver.check_replies()
            expected = driver.expected_real()
            actual = await _balances(http, server.base, list(accounts))
            for a, (real, bonus) in actual.items():
                if real != expected[a] or bonus != 0:
                    driver.stats.violations.append(f"{a}: real={real} bonus={bonus}, expected real={expected[a]}")
    finally:
        server.stop()
    audit = cli("audit", "--database", database)
    if audit.returncode != 0:
        driver.stats.violations.append(f"audit exited {audit.returncode}: {audit.stdout}{audit.stderr}")
    print(f"seed={seed} starts={server.starts} {audit.stdout.strip()}")
    return driver.stats


def report(stats: Stats) -> str:
    lines = [
        f"requests sent: {stats.sent}",
        f"acknowledged:  {stats.acked}",
        f"refused:       {stats.refused}",
        f"unanswered:    {stats.lost}",
        f"kills:         {stats.kills}",
        f"violations:    {len(stats.violations)}",
    ]
    lines += [f"  - {v}" for v in stats.violations[:50]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--players", type=int, default=6)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gw-crash-") as tmp:
        stats = asyncio.run(
            run_crashtest(
                kills=args.kills,
                seconds=args.seconds,
                workers=args.workers,
                players=args.players,
                seed=args.seed,
                workdir=Path(tmp),
            )
        )
    print(report(stats))
    return 1 if stats.violations or stats.kills < args.kills else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
