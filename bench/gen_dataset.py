"""Generate a benchmark dataset directly in a SQLite wallet database.

    .venv/bin/python bench/gen_dataset.py --database sqlite:///bench/.work/bench-10000.db --accounts 10000

Creates operator ``11`` (EUR, cash_money) and N players ``bench0000000000`` ..
``bench{N-1:010d}``, each with

* a EUR wallet (real 1000, bonus 0 by default) and its opening journal entry, built with
  :func:`wallet_store.model.move` so that ``groove-wallet audit`` passes;
* one open game session ``11_bench{i:010d}`` that expires in 2099;
* the e-mail ``bench{i:010d}@example.com`` (for the REST by-e-mail benchmarks).

The ids are a pure function of the index so the wrk Lua scripts can build them
(``bench/lua/common.lua`` has the same format: keep them in step).  The zero padding keeps the
rows in key order, which makes the B-tree inserts appends.

The schema comes from the service's own migrations (a :class:`SqliteStore` is opened and
closed once); the rows are then written with the stdlib ``sqlite3`` module in large
``executemany`` transactions with ``synchronous=OFF`` (the file is thrown away if the load
dies), streamed batch by batch so memory does not grow with N.  With ``--jobs 2`` the journal
hashes are computed in a worker process while the main process writes.

A ``PATH.meta.json`` sidecar records what was generated; ``bench/run.py`` reuses a dataset
whose sidecar matches instead of generating it again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from wallet_store import money
from wallet_store.model import GENESIS_HASH, Wallet, iso, move
from wallet_store.sqlite.store import SqliteStore

GENERATOR_VERSION = 1
OPERATOR = "11"
GAME_ID = "80102"
ACCOUNT_FMT = "bench{:010d}"  # bench/lua/common.lua: string.format("bench%010d", i)
SESSION_FMT = OPERATOR + "_" + ACCOUNT_FMT  # "11_bench0000000042": 18 chars (limit 64)
EMAIL_FMT = "bench{:010d}@example.com"
MAX_ACCOUNTS = 10**10  # ten digits

# One fixed timestamp for every generated row (the hash covers it; the value is arbitrary).
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
EXPIRES = datetime(2099, 12, 31, tzinfo=UTC)

_PLAYER_SQL = (
    "INSERT INTO players (account_id, operator_id, name, email, email_norm, country, city, currency, status,"
    " created_at, last_active) VALUES (?,?,?,?,?,?,?,?,?,?,NULL)"
)
_WALLET_SQL = (
    "INSERT INTO wallets (account_id, currency, real, bonus, reserved, seq, last_hash, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?)"
)
_JOURNAL_SQL = (
    "INSERT INTO journal (account_id, currency, seq, kind, real_delta, bonus_delta, reserved_delta, real_after,"
    " bonus_after, reserved_after, reference, reason, created_at, prev_hash, hash)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_HEAD_SQL = "INSERT INTO journal_heads (account_id, currency, seq, hash) VALUES (?,?,?,?)"
_SESSION_SQL = (
    "INSERT INTO sessions (session_id, account_id, operator_id, currency, game_id, created_at, expires_at,"
    " closed_at) VALUES (?,?,?,?,?,?,?,NULL)"
)
_OPERATOR_SQL = (
    "INSERT OR IGNORE INTO operators (operator_id, name, currency, debit_order, signature_secret,"
    " allowed_networks, start_real, start_bonus, created_at) VALUES (?,?,?,?,NULL,'',?,?,?)"
)


def account_id(i: int) -> str:
    return ACCOUNT_FMT.format(i)


def session_id(i: int) -> str:
    return SESSION_FMT.format(i)


def sqlite_path(database: str) -> str:
    if not database.startswith("sqlite:///"):
        raise SystemExit("gen_dataset: --database must be sqlite:///PATH")
    return database.removeprefix("sqlite:///")


class Spec:
    """What every account gets (picklable, for the worker processes)."""

    def __init__(self, currency: str, real: Decimal, bonus: Decimal) -> None:
        self.currency = currency
        self.real = real
        self.bonus = bonus


def hashes(spec: Spec, start: int, end: int) -> list[str]:
    """The opening entry's hash for accounts [start, end): ``move()`` from an empty wallet."""
    out: list[str] = []
    append = out.append
    cur = spec.currency
    real, bonus = spec.real, spec.bonus
    for i in range(start, end):
        w = Wallet(account_id=ACCOUNT_FMT.format(i), currency=cur, updated_at=CREATED)
        _, entry = move(
            w, kind="initial", real=real, bonus=bonus, reference="initial", reason="opening balance", now=CREATED
        )
        append(entry.hash)
    return out


def _hashes_job(args: tuple[Spec, int, int]) -> tuple[int, int, list[str]]:
    spec, start, end = args
    return start, end, hashes(spec, start, end)


def _ranges(n: int, batch: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, batch):
        yield start, min(n, start + batch)


def _migrate(path: str) -> None:
    async def run() -> None:
        store = SqliteStore(path)
        await store.open()
        await store.close()

    asyncio.run(run())


def _progress(done: int, total: int, started: float, final: bool = False) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    line = f"\r  {done:>12,}/{total:,} accounts ({100.0 * done / max(total, 1):5.1f}%)  {rate:>9,.0f}/s"
    line += f"  elapsed {elapsed:6.1f}s" + ("          " if final else f"  ETA {eta:6.1f}s")
    sys.stderr.write(line + ("\n" if final else ""))
    sys.stderr.flush()


def _remove(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".meta.json"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def generate(
    path: str,
    accounts: int,
    *,
    real: Decimal,
    bonus: Decimal,
    currency: str = "EUR",
    batch: int = 50_000,
    jobs: int = 1,
    force: bool = False,
    quiet: bool = False,
) -> dict[str, object]:
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise SystemExit(f"gen_dataset: --accounts must be 1..{MAX_ACCOUNTS}")
    if os.path.exists(path):
        if not force:
            raise SystemExit(f"gen_dataset: {path} exists (use --force to replace it)")
        _remove(path)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    started = time.perf_counter()
    _migrate(path)

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -524288")  # 512 MiB
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA wal_autocheckpoint = 100000")
        zero = money.to_db(money.ZERO)
        created = iso(CREATED)
        conn.execute(_OPERATOR_SQL, (OPERATOR, "Bench Casino", currency, "cash_money", zero, zero, created))

        spec = Spec(currency, real, bonus)
        has_entry = real > 0 or bonus > 0
        real_db, bonus_db = money.to_db(real), money.to_db(bonus)
        expires = iso(EXPIRES)
        pool = multiprocessing.get_context("fork").Pool(jobs - 1) if jobs > 1 and has_entry else None
        try:
            if pool is not None:
                results: Iterator[tuple[int, int, list[str]]] = pool.imap(
                    _hashes_job, ((spec, s, e) for s, e in _ranges(accounts, batch))
                )
            else:
                results = (
                    (s, e, hashes(spec, s, e) if has_entry else [GENESIS_HASH] * (e - s))
                    for s, e in _ranges(accounts, batch)
                )
            done = 0
            for start, end, hs in results:
                ids = [ACCOUNT_FMT.format(i) for i in range(start, end)]
                conn.execute("BEGIN")
                conn.executemany(
                    _PLAYER_SQL,
                    (
                        (a, OPERATOR, f"Bench Player {i}", e, e, "MT", "Valletta", currency, "active", created)
                        for i, a in enumerate(ids, start)
                        for e in (EMAIL_FMT.format(i),)
                    ),
                )
                seq = 1 if has_entry else 0
                conn.executemany(
                    _WALLET_SQL,
                    ((a, currency, real_db, bonus_db, zero, seq, h, created) for a, h in zip(ids, hs, strict=True)),
                )
                if has_entry:
                    conn.executemany(
                        _JOURNAL_SQL,
                        (
                            (
                                a,
                                currency,
                                1,
                                "initial",
                                real_db,
                                bonus_db,
                                zero,
                                real_db,
                                bonus_db,
                                zero,
                                "initial",
                                "opening balance",
                                created,
                                GENESIS_HASH,
                                h,
                            )
                            for a, h in zip(ids, hs, strict=True)
                        ),
                    )
                    conn.executemany(  # the chain heads (wallet_store.audit)
                        _HEAD_SQL, ((a, currency, 1, h) for a, h in zip(ids, hs, strict=True))
                    )
                conn.executemany(
                    _SESSION_SQL,
                    ((OPERATOR + "_" + a, a, OPERATOR, currency, GAME_ID, created, expires) for a in ids),
                )
                conn.execute("COMMIT")
                done = end
                if not quiet:
                    _progress(done, accounts, started)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        if not quiet:
            _progress(accounts, accounts, started, final=True)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA synchronous = FULL")  # back to the service's default (per connection anyway)
    finally:
        conn.close()

    elapsed = time.perf_counter() - started
    meta: dict[str, object] = {
        "generator_version": GENERATOR_VERSION,
        "accounts": accounts,
        "currency": currency,
        "real": money.wire(real),
        "bonus": money.wire(bonus),
        "account_format": "bench%010d",
        "session_format": "11_bench%010d",
        "seconds": round(elapsed, 2),
        "bytes": os.path.getsize(path),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with open(path + ".meta.json", "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", required=True, help="sqlite:///PATH")
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--real", default="1000", help="opening real balance (default 1000)")
    p.add_argument("--bonus", default="0", help="opening bonus balance (default 0)")
    p.add_argument("--currency", default="EUR")
    p.add_argument("--batch", type=int, default=50_000, help="accounts per transaction")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (hashing in workers)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    path = sqlite_path(args.database)
    meta = generate(
        path,
        args.accounts,
        real=money.parse(args.real),
        bonus=money.parse(args.bonus),
        currency=args.currency,
        batch=max(1, args.batch),
        jobs=max(1, args.jobs),
        force=args.force,
        quiet=args.quiet,
    )
    print(
        f"generated {meta['accounts']:,} accounts in {meta['seconds']}s -> {path} ({int(meta['bytes']) / 1e6:,.0f} MB)"  # type: ignore[call-overload]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
