"""In-process ceiling of the wallet service + SQLite store, without HTTP.

    .venv/bin/python bench/inproc.py --database sqlite:///bench/.work/bench-10000.db --accounts 10000

Drives ``WalletService.get_balance`` and ``WalletService.wager`` directly from C concurrent
tasks on a uvloop loop (the same store, group commit and ``synchronous=FULL`` as the server)
for a few seconds each, pinned like the server with ``taskset -c 0`` if you want comparable
figures.  Prints, per figure, how many tasks completed at most one operation: a task starved
by an unfair wait (see bench/README.md) shows up there.  The difference between these rates
and the HTTP figures of ``bench/run.py`` is what the HTTP layer, middleware, logging and
metrics cost.  Uses the dataset of gen_dataset.py (ids ``bench%010d``, sessions
``11_bench%010d``); it appends wagers to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

from wallet_store import money
from wallet_store.commands import Caller, SessionQuery, Wager
from wallet_store.model import SystemClock
from wallet_store.service import WalletService
from wallet_store.sqlite.store import SqliteStore

RESULTS: list[dict[str, object]] = []


async def _drive(name: str, fn, concurrency: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    done = 0
    lat: list[float] = []
    per_worker = [0] * concurrency
    stop = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < stop:
            n += 1
            t = time.perf_counter()
            await fn(w, n)
            lat.append(time.perf_counter() - t)
            done += 1
            per_worker[w] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    lat.sort()

    def pct(p: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else 0.0

    starved = sum(1 for n in per_worker if n <= 1)
    print(
        f"{name:<11} c={concurrency:<3} {done / elapsed:>9,.0f} /s   p50 {pct(50):6.2f} ms  p99 {pct(99):6.2f} ms"
        f"  p99.9 {pct(99.9):6.2f} ms  max {1000 * (lat[-1] if lat else 0):7.1f} ms"
        f"  tasks that completed <= 1 op: {starved}/{concurrency}",
        flush=True,
    )
    RESULTS.append(
        {
            "scenario": name,
            "concurrency": concurrency,
            "per_s": round(done / elapsed, 1),
            "p50_ms": round(pct(50), 3),
            "p99_ms": round(pct(99), 3),
            "p999_ms": round(pct(99.9), 3),
            "max_ms": round(1000 * (lat[-1] if lat else 0), 3),
            "starved_tasks": starved,
        }
    )


async def main_async(args: argparse.Namespace) -> None:
    store = SqliteStore(args.database.removeprefix("sqlite:///"), synchronous="FULL")
    await store.open()
    svc = WalletService(store, SystemClock())
    caller = Caller(ip="127.0.0.1", signature=None)
    bet = money.parse(args.bet)
    tag = f"i{int(time.time())}"
    rnd = random.Random(1)
    c_now = [0]
    try:

        async def balance(w: int, n: int) -> None:
            i = rnd.randrange(args.accounts)
            a = f"bench{i:010d}"
            await svc.get_balance(SessionQuery(a, "11_" + a), caller)

        async def wager(w: int, n: int) -> None:
            i = rnd.randrange(args.accounts)
            a = f"bench{i:010d}"
            uid = f"{tag}c{c_now[0]}w{w}n{n}"
            await svc.wager(Wager(a, "11_" + a, "80102", "r" + uid, "w" + uid, bet), caller)

        for c in args.concurrency:
            c_now[0] = c
            await _drive("getbalance", balance, c, args.seconds)
            await _drive("wager", wager, c, args.seconds)
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", required=True)
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--concurrency", type=int, nargs="+", default=[64])
    p.add_argument("--bet", default="0.01")
    p.add_argument("--json", action="store_true", help="also print one line INPROC_JSON [...] at the end")
    args = p.parse_args(argv)
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:  # pragma: no cover
        asyncio.run(main_async(args))
    if args.json:
        print("INPROC_JSON " + json.dumps(RESULTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
