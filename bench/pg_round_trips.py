"""Round trips per PostgreSQL money request, counted on the real service and database.

    .venv/bin/python bench/pg_round_trips.py --database postgresql://postgres@127.0.0.1:5432/gw_bench_...

Run by ``bench/run.py`` on its PostgreSQL bench database (a copy of the generated dataset:
operator ``11``, accounts ``bench%010d`` with live sessions ``11_bench%010d``).  Drives
``WalletService`` in process on ``PostgresStore`` and counts every message asyncpg sends for a
statement: a simple query (``execute`` without arguments: BEGIN, COMMIT, the closing message
of deferred writes and COMMIT) or an extended-protocol statement (``fetch``/``fetchrow``/
``execute`` with arguments, ``executemany``), each one round trip once its statement is
prepared (every request is run once first, so what is counted is the steady state).  Prints
one JSON object: request -> round trips.  Moves 0.02 of one bench account's money per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from wallet_store.commands import Caller, Result, Rollback, SessionQuery, Wager
from wallet_store.model import SystemClock
from wallet_store.postgres.store import PostgresStore
from wallet_store.service import WalletService

ACCOUNT = "bench0000000001"
SESSION = "11_" + ACCOUNT
GAME = "80102"


class Counter:
    """Counts the statement messages asyncpg sends while installed (see the module docstring)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._saved: dict[str, Any] = {}

    def install(self) -> None:
        c = asyncpg.Connection
        self._saved = {"execute": c.execute, "_execute": c._execute, "_executemany": c._executemany}
        real_execute, real_ext, real_many = c.execute, c._execute, c._executemany
        sent = self.sent

        def execute(conn: Any, query: str, *args: Any, timeout: float | None = None) -> Awaitable[Any]:
            if not args:
                sent.append(query)
            return real_execute(conn, query, *args, timeout=timeout)

        def ext(conn: Any, query: str, *args: Any, **kw: Any) -> Awaitable[Any]:
            sent.append(query)
            return real_ext(conn, query, *args, **kw)

        def many(conn: Any, query: str, *args: Any, **kw: Any) -> Awaitable[Any]:
            sent.append(query)
            return real_many(conn, query, *args, **kw)

        c.execute, c._execute, c._executemany = execute, ext, many  # type: ignore[method-assign]

    def uninstall(self) -> None:
        for name, fn in self._saved.items():
            setattr(asyncpg.Connection, name, fn)

    async def count(self, call: Callable[[], Awaitable[Any]]) -> int:
        self.sent.clear()
        await call()
        return len(self.sent)


def _steps(svc: WalletService, tag: str) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """One pass: a getbalance, a new wager, its replay, its result, and a wager rolled back."""
    caller = Caller(ip="127.0.0.1")
    bet = Decimal("0.01")

    def wager(rnd: str, tx: str) -> Callable[[], Awaitable[Any]]:
        return lambda: svc.wager(Wager(ACCOUNT, SESSION, GAME, rnd, tx, bet), caller)

    return [
        ("getbalance", lambda: svc.get_balance(SessionQuery(ACCOUNT, SESSION), caller)),
        ("wager", wager(f"r{tag}", f"w{tag}")),
        ("wager replay", wager(f"r{tag}", f"w{tag}")),
        ("result", lambda: svc.result(Result(ACCOUNT, SESSION, GAME, f"r{tag}", f"x{tag}", bet, "completed"), caller)),
        ("", wager(f"q{tag}", f"v{tag}")),  # not counted: what the rollback undoes
        ("rollback", lambda: svc.rollback(Rollback(ACCOUNT, SESSION, GAME, f"q{tag}", f"v{tag}"), caller)),
    ]


async def measure(dsn: str, schema: str | None = None) -> dict[str, int]:
    store = PostgresStore(dsn, schema=schema, min_size=1, max_size=1)
    await store.open()
    svc = WalletService(store, SystemClock())
    counter = Counter()
    out: dict[str, int] = {}
    try:
        for warm in (True, False):  # the first pass prepares every statement
            counter.install()
            try:
                for name, call in _steps(svc, uuid.uuid4().hex[:12]):
                    n = await counter.count(call)
                    if not warm and name:
                        out[name] = n
            finally:
                counter.uninstall()
    finally:
        await store.close()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--database", required=True, help="postgresql:// URL of a bench database (bench/gen_dataset.py data)"
    )
    args = p.parse_args()
    print(json.dumps(asyncio.run(measure(args.database))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
