"""The floor: the least work a getbalance or a durable wager can be, served like the baseline.

    .venv/bin/python bench/floor_server.py --mode read  --database bench/.work/floor.db --port 8091
    .venv/bin/python bench/floor_server.py --mode write --database bench/.work/floor.db --port 8091

Not the service: a measuring stick for the ratio targets of issue 7.  Same server as
``baseline_server.py`` (``web.run_app`` on uvloop, ``access_log=None``, no middleware, no
logging, no metrics), same requests (the wrk Lua scripts of the service figures), and only
what any wallet must do on top of the bare handler:

* ``--mode read`` (getbalance): read ``accountid`` from the query string, one indexed
  ``SELECT real, bonus FROM wallets`` on a plain ``sqlite3`` connection on the event loop's
  thread (no thread hop, ``mmap``), answer its balances.  No session, operator or player
  lookup, no signature, no Decimal arithmetic.
* ``--mode write`` (durable wager): read ``accountid``, ``transactionid`` and ``betamount``;
  queue it; one writer task runs every queued debit in one ``BEGIN IMMEDIATE`` on the loop's
  thread (per debit: read the balance, subtract exactly with ``Decimal``, ``UPDATE`` it,
  ``INSERT`` a ledger row whose primary key is the transaction id, so a replay cannot debit
  twice), then ``COMMIT``s on a thread (``synchronous=FULL``: the WAL is fsynced) and only
  then answers each request.  No session, round, journal hash chain, limits or idempotent
  replay answers.

Whatever ratio to the baseline these reach is an upper bound for the real service in this
stack (CPython + aiohttp + SQLite) on this machine: the service does all of this and more.
The database is the bench dataset (``gen_dataset.py``); ``--mode write`` adds the table
``floor_ledger`` to it.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from decimal import Decimal

from aiohttp import web
from baseline_server import serve  # run as a script from bench/: served exactly like the baseline

MAX_BATCH = 256


def _reply(real: str, bonus: str) -> dict[str, object]:
    return {
        "code": 200,
        "status": "Success",
        "balance": real,
        "real_balance": real,
        "bonus_balance": bonus,
        "game_mode": 1,
        "order": "cash_money",
        "apiversion": "1.2",
    }


def _bad(message: str) -> web.Response:
    return web.json_response({"code": 110, "status": "Bad request", "message": message})


class Floor:
    def __init__(self, path: str, mode: str) -> None:
        self.path = path
        self.mode = mode
        self.read_conn: sqlite3.Connection | None = None
        self.write_conn: sqlite3.Connection | None = None
        self.queue: asyncio.Queue[tuple[str, str, Decimal, asyncio.Future[dict[str, object]]]] | None = None
        self.task: asyncio.Task[None] | None = None

    async def ctx(self, app: web.Application):  # type: ignore[no-untyped-def]
        self.read_conn = sqlite3.connect(self.path, isolation_level=None)
        self.read_conn.execute("PRAGMA mmap_size = 268435456")
        if self.mode == "write":
            # check_same_thread=False: statements run on the loop's thread, COMMIT on a worker
            # thread, never at the same time (the writer task awaits the COMMIT).
            w = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            w.execute("PRAGMA journal_mode = WAL")
            w.execute("PRAGMA synchronous = FULL")
            w.execute("PRAGMA cache_size = -65536")
            w.execute(
                "CREATE TABLE IF NOT EXISTS floor_ledger (transaction_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
                " amount TEXT NOT NULL, real_after TEXT NOT NULL)"
            )
            self.write_conn = w
            self.queue = asyncio.Queue(maxsize=4096)
            self.task = asyncio.create_task(self.writer())
        yield
        if self.task is not None:
            self.task.cancel()
        for c in (self.read_conn, self.write_conn):
            if c is not None:
                c.close()

    async def getbalance(self, request: web.Request) -> web.Response:
        conn = self.read_conn
        if conn is None:
            raise web.HTTPServiceUnavailable()
        account = request.query.get("accountid", "")
        row = conn.execute(
            "SELECT real, bonus FROM wallets WHERE account_id = ? AND currency = 'EUR'", (account,)
        ).fetchone()
        if row is None:
            return _bad("unknown account")
        return web.json_response(_reply(row[0], row[1]))

    async def wager(self, request: web.Request) -> web.Response:
        q = request.query
        queue = self.queue
        if queue is None:
            raise web.HTTPServiceUnavailable()
        fut: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        await queue.put((q.get("accountid", ""), q.get("transactionid", ""), Decimal(q.get("betamount", "0")), fut))
        return web.json_response(await fut)

    async def writer(self) -> None:
        queue, conn = self.queue, self.write_conn
        if queue is None or conn is None:
            raise RuntimeError("not open")
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            replies: list[dict[str, object]] = []
            conn.execute("BEGIN IMMEDIATE")
            for account, tx_id, amount, _ in batch:
                conn.execute("SAVEPOINT d")
                try:
                    row = conn.execute(
                        "SELECT real, bonus FROM wallets WHERE account_id = ? AND currency = 'EUR'", (account,)
                    ).fetchone()
                    if row is None:
                        raise LookupError("unknown account")
                    real = Decimal(row[0]) - amount
                    if real < 0:
                        raise LookupError("insufficient funds")
                    text = str(real)
                    conn.execute(
                        "UPDATE wallets SET real = ? WHERE account_id = ? AND currency = 'EUR'", (text, account)
                    )
                    conn.execute(
                        "INSERT INTO floor_ledger (transaction_id, account_id, amount, real_after) VALUES (?,?,?,?)",
                        (tx_id, account, str(amount), text),
                    )
                    conn.execute("RELEASE d")
                    replies.append(_reply(text, row[1]))
                except (LookupError, sqlite3.IntegrityError) as exc:
                    conn.execute("ROLLBACK TO d")
                    conn.execute("RELEASE d")
                    replies.append({"code": 1, "status": "Refused", "message": str(exc)})
            await loop.run_in_executor(None, conn.execute, "COMMIT")
            for (_, _, _, fut), reply in zip(batch, replies, strict=True):
                if not fut.done():
                    fut.set_result(reply)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(path: str, mode: str) -> web.Application:
    floor = Floor(path, mode)
    app = web.Application()
    app.cleanup_ctx.append(floor.ctx)
    app.router.add_get("/groove", floor.getbalance if mode == "read" else floor.wager)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="the floor servers of bench/run.py (see the module docstring)")
    p.add_argument("--mode", choices=("read", "write"), required=True)
    p.add_argument("--database", required=True, help="a SQLite file made by gen_dataset.py")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8091)
    args = p.parse_args(argv)
    serve(create_app(args.database, args.mode), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
