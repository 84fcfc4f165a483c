"""Where a durable SQLite wager's writer time goes: each statement's time per wager.

    .venv/bin/python bench/writer_statements.py --dataset bench/.work/bench-10000.db [--batch 32] [--wagers 3000]

Copies a generated dataset (bench/gen_dataset.py; accounts ``bench%010d`` with live sessions
``11_bench%010d``) to a scratch file, then drives the service's own writer path in process,
without threads or HTTP: ``WalletService.wager`` units, ``--batch`` at a time, through the
SQLite store's ``_run_batch`` (one ``BEGIN IMMEDIATE`` … ``COMMIT``, a SAVEPOINT per unit) on a
plain ``sqlite3`` connection set up like the writer's (WAL, page cache, ``temp_store=MEMORY``,
``synchronous`` as given: OFF by default, so only CPU shows).  Every ``execute`` is timed;
prints the process CPU per wager and each statement's wall time per wager, largest first.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wallet_store.commands import Caller, Wager
from wallet_store.model import SystemClock
from wallet_store.service import WalletService
from wallet_store.sqlite import store as sqlite_store


class TimedConnection:
    """A ``sqlite3.Connection`` whose statements are timed by their first 90 characters."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.seconds: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        started = time.perf_counter()
        try:
            return self.conn.execute(sql, params)
        finally:
            self.seconds[sql[:90]] += time.perf_counter() - started
            self.calls[sql[:90]] += 1

    def executemany(self, sql: str, params: Any) -> sqlite3.Cursor:
        started = time.perf_counter()
        try:
            return self.conn.executemany(sql, params)
        finally:
            self.seconds[sql[:90]] += time.perf_counter() - started
            self.calls[sql[:90]] += 1


class BatchingStore:
    """Just enough of a WalletStore for ``WalletService.wager``: units queue up and run ``batch``
    at a time through the SQLite store's own ``_run_batch``."""

    def __init__(self, conn: TimedConnection, batch: int) -> None:
        self.conn = conn
        self.batch = batch
        self.pending: list[tuple[Any, asyncio.Future[Any]]] = []

    async def write(self, unit: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((unit, fut))
        if len(self.pending) >= self.batch:
            items, self.pending = self.pending, []
            results = sqlite_store._run_batch(self.conn, [u for u, _ in items])  # type: ignore[arg-type]
            for (_, f), (ok, value) in zip(items, results, strict=True):
                if ok:
                    f.set_result(value)
                else:
                    f.set_exception(value)
        return await fut


async def run(conn: TimedConnection, accounts: int, wagers: int, batch: int) -> float:
    svc = WalletService(BatchingStore(conn, batch), SystemClock())  # type: ignore[arg-type]
    caller = Caller(ip="127.0.0.1")
    tag = f"{random.getrandbits(32):08x}"

    async def one(i: int) -> None:
        acc = f"bench{random.randrange(accounts):010d}"
        await svc.wager(Wager(acc, f"11_{acc}", "80102", f"r{tag}{i}", f"t{tag}{i}", Decimal("0.01")), caller)

    started = time.process_time()
    for first in range(0, wagers, batch):
        await asyncio.gather(*(one(i) for i in range(first, first + batch)))
    return (time.process_time() - started) / wagers * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, required=True, help="a bench/gen_dataset.py SQLite file (copied)")
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--wagers", type=int, default=3_000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--synchronous", default="OFF", choices=["OFF", "NORMAL", "FULL"])
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "w.db"
        shutil.copy(args.dataset, db)
        raw = sqlite3.connect(db, isolation_level=None)
        for pragma in ("journal_mode = WAL", f"synchronous = {args.synchronous}", "cache_size = -65536"):
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("PRAGMA temp_store = MEMORY")
        raw.execute("PRAGMA foreign_keys = ON")
        conn = TimedConnection(raw)
        wagers = args.wagers - args.wagers % args.batch
        cpu = asyncio.run(run(conn, args.accounts, wagers, args.batch))
        raw.close()
    print(f"process CPU per wager: {cpu:.0f} µs ({wagers} wagers, batches of {args.batch})")
    for sql, seconds in conn.seconds.most_common():
        print(f"{seconds / wagers * 1e6:8.1f} µs/wager  {conn.calls[sql] / wagers:5.2f} per wager  {sql}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
