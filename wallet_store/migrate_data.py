"""Copy an operator's data (or everything) from one store to another, empty one.

Used by ``groove-wallet migrate-data --from sqlite:///... --to postgresql://...`` to move
from the embedded store to PostgreSQL.

What is read, and how
---------------------
* wallets, journal, rounds, transactions: the :class:`~wallet_store.ports.WalletStore`
  streams (any backend).
* operators, players, sessions, limits, free rounds, admin ops, games have no stream in the
  Protocol; they are read here with backend-specific SQL on the source: the SQLite file
  through the stdlib :mod:`sqlite3` module (read-only) and the SQLite store's row mappers.
  Only an SQLite source is supported (that is the move this tool exists for).

What is written, and how
------------------------
Everything through :meth:`WalletStore.write` units and the :class:`~wallet_store.ports.Tx`
Protocol only, so any backend can be the target.  The journal is copied entry by entry *as
it is* (same seq, hashes, timestamps): each wallet is inserted empty (seq 0, genesis hash)
and then brought forward with :meth:`Tx.save_wallet` one batch of its entries at a time,
the wallet row set to the state after the batch's last entry (``save_wallet``'s seq guard
then checks the batches chain up).  The last batch writes the source wallet row itself, so
the copy ends exactly where the source was; a source wallet that is not at the end of its
journal is refused (run ``groove-wallet audit`` on the source).

Not one transaction: a migration that fails half-way leaves a partial target.  Start again
on a fresh database (the target must hold none of the operators or accounts, checked
before anything is written).  Stop the service on the source while migrating.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import WalletError
from .model import (
    FreeRoundAward,
    GameSession,
    JournalEntry,
    Limits,
    Operator,
    Player,
    Wallet,
    parse_iso,
)
from .money import from_db
from .ports import Tx, WalletStore

BATCH = 500


class MigrationRefused(WalletError):
    """The migration cannot start (non-empty target, unsupported source, bad source data)."""


@dataclass
class MigrationReport:
    operators: int = 0
    players: int = 0
    wallets: int = 0
    entries: int = 0
    sessions: int = 0
    transactions: int = 0
    rounds: int = 0
    limits: int = 0
    free_rounds: int = 0
    admin_ops: int = 0
    games: int = 0
    accounts: set[str] = field(default_factory=set, repr=False)

    def text(self) -> str:
        return (
            f"migrated {self.operators} operators, {self.players} players, {self.wallets} wallets,"
            f" {self.entries} journal entries, {self.sessions} sessions, {self.transactions} transactions,"
            f" {self.rounds} rounds, {self.limits} limits, {self.free_rounds} free-round awards,"
            f" {self.admin_ops} admin ops, {self.games} games"
        )


@dataclass
class _Source:
    """The tables without a stream in the Protocol, read from the source."""

    operators: list[Operator]
    players: list[Player]
    sessions: list[GameSession]
    limits: list[Limits]
    free_rounds: list[FreeRoundAward]
    admin_ops: list[tuple[str, str, str, str]]  # key, fingerprint, reply, created_at (ISO)
    games: list[Any]  # model.Game (schema version 2), when the source has the table


def _opt_money(v: str | None) -> Any:
    return None if v is None else from_db(v)


def _read_sqlite(path: str, operator_id: str | None) -> _Source:
    from .sqlite.store import _OPERATOR_COLS, _PLAYER_COLS, _operator, _player

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        where, args = ("WHERE operator_id = ?", (operator_id,)) if operator_id is not None else ("", ())
        operators = [
            _operator(r)
            for r in conn.execute(f"SELECT {_OPERATOR_COLS} FROM operators {where} ORDER BY operator_id", args)
        ]
        players = [
            _player(r) for r in conn.execute(f"SELECT {_PLAYER_COLS} FROM players {where} ORDER BY account_id", args)
        ]
        accounts = {p.account_id for p in players}
        sessions = [
            GameSession(
                session_id=r[0],
                account_id=r[1],
                operator_id=r[2],
                currency=r[3],
                game_id=r[4],
                created_at=parse_iso(r[5]),
                expires_at=parse_iso(r[6]),
                closed_at=None if r[7] is None else parse_iso(r[7]),
            )
            for r in conn.execute(
                "SELECT session_id, account_id, operator_id, currency, game_id, created_at, expires_at, closed_at"
                " FROM sessions ORDER BY session_id"
            )
            if r[1] in accounts
        ]
        limits = [
            Limits(
                account_id=r[0],
                max_bet=_opt_money(r[1]),
                loss_day=_opt_money(r[2]),
                loss_week=_opt_money(r[3]),
                loss_month=_opt_money(r[4]),
            )
            for r in conn.execute(
                "SELECT account_id, max_bet, loss_day, loss_week, loss_month FROM limits ORDER BY account_id"
            )
            if r[0] in accounts
        ]
        free_rounds = [
            FreeRoundAward(frbid=r[0], account_id=r[1], operator_id=r[2], pays_into=r[3], created_at=parse_iso(r[4]))
            for r in conn.execute(
                "SELECT frbid, account_id, operator_id, pays_into, created_at FROM free_rounds ORDER BY frbid"
            )
            if r[1] in accounts
        ]
        admin_ops = [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
            for r in conn.execute("SELECT key, fingerprint, reply, created_at FROM admin_ops ORDER BY key")
            if operator_id is None or _admin_op_account(str(r[2])) in accounts
        ]
        games: list[Any] = []
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'games'").fetchone():
            from .sqlite.store import _GAME_COLS, _game

            games = [_game(r) for r in conn.execute(f"SELECT {_GAME_COLS} FROM games {where} ORDER BY game_id", args)]
    finally:
        conn.close()
    return _Source(operators, players, sessions, limits, free_rounds, admin_ops, games)


def _admin_op_account(reply: str) -> str | None:
    """The account an admin op belongs to (its stored reply names it), for --operator."""
    try:
        body = json.loads(reply)
    except ValueError:
        return None
    acct = body.get("account_id") if isinstance(body, dict) else None
    return acct if isinstance(acct, str) else None


def _source_path(store: WalletStore) -> str:
    from .sqlite.store import SqliteStore

    if not isinstance(store, SqliteStore):
        raise MigrationRefused("only an SQLite source (sqlite:///PATH) is supported")
    return store.path


async def _write_all(target: WalletStore, items: Sequence[Any], insert: Any) -> None:
    for i in range(0, len(items), BATCH):
        chunk = items[i : i + BATCH]

        async def unit(tx: Tx, chunk: Sequence[Any] = chunk) -> None:
            for item in chunk:
                await insert(tx, item)

        await target.write(unit)


async def _refuse_if_present(target: WalletStore, src: _Source) -> None:
    async def unit(tx: Tx) -> list[str]:
        found = [f"operator {op.operator_id}" for op in src.operators if await tx.get_operator(op.operator_id)]
        for p in src.players:
            if await tx.get_player(p.account_id) is not None:
                found.append(f"account {p.account_id}")
                if len(found) >= 10:
                    break
        return found

    found = await target.read(unit)
    if found:
        raise MigrationRefused("the target already holds " + ", ".join(found) + "; migrate into an empty database")


def _state_after(last: JournalEntry) -> Wallet:
    return Wallet(
        account_id=last.account_id,
        currency=last.currency,
        real=last.real_after,
        bonus=last.bonus_after,
        reserved=last.reserved_after,
        seq=last.seq,
        last_hash=last.hash,
        updated_at=last.created_at,
    )


async def _copy_wallets(source: WalletStore, target: WalletStore, accounts: set[str], report: MigrationReport) -> None:
    wallets: dict[tuple[str, str], Wallet] = {}
    async for w in source.wallets():
        if w.account_id in accounts:
            wallets[(w.account_id, w.currency)] = w

    # Every wallet starts empty (seq 0, genesis hash): the journal brings it forward.
    await _write_all(
        target,
        [Wallet(account_id=w.account_id, currency=w.currency, updated_at=w.updated_at) for w in wallets.values()],
        lambda tx, w: tx.insert_wallet(w),
    )
    report.wallets = len(wallets)

    async def save(entries: list[JournalEntry], final: bool) -> None:
        last = entries[-1]
        key = (last.account_id, last.currency)
        state = _state_after(last)
        if final:
            src = wallets.get(key)
            if src is None:
                raise MigrationRefused(f"journal entries for {key} without a wallet")
            if src.seq != last.seq or src.last_hash != last.hash:
                raise MigrationRefused(f"wallet {key} is not at the end of its journal; run audit on the source")
            state = src

        async def unit(tx: Tx) -> None:
            await tx.save_wallet(state, entries)

        await target.write(unit)
        report.entries += len(entries)
        if final:
            done.add(key)

    done: set[tuple[str, str]] = set()

    pending: list[JournalEntry] = []
    async for e in source.journal():
        if e.account_id not in accounts:
            continue
        if pending and (pending[-1].account_id, pending[-1].currency) != (e.account_id, e.currency):
            await save(pending, final=True)
            pending = []
        elif len(pending) >= BATCH:
            await save(pending, final=False)
            pending = []
        pending.append(e)
    if pending:
        await save(pending, final=True)

    # A wallet without journal entries must be empty in the source too (it was inserted so).
    for key, w in wallets.items():
        if key not in done and (w.seq != 0 or w.real or w.bonus or w.reserved):
            raise MigrationRefused(f"wallet {key} has no journal entries to copy; run audit on the source")


async def migrate_data(source: WalletStore, target: WalletStore, operator_id: str | None = None) -> MigrationReport:
    """Copy ``operator_id``'s data (every operator's when None) from ``source`` to ``target``.

    Both stores must be open.  Raises :class:`MigrationRefused` before writing anything when
    the target already holds any of the operators or accounts.
    """
    src = _read_sqlite(_source_path(source), operator_id)
    if operator_id is not None and not src.operators:
        raise MigrationRefused(f"operator {operator_id} not found in the source")
    await _refuse_if_present(target, src)

    report = MigrationReport()
    accounts = {p.account_id for p in src.players}
    report.accounts = accounts

    await _write_all(target, src.operators, lambda tx, op: tx.insert_operator(op))
    report.operators = len(src.operators)
    await _write_all(target, src.players, lambda tx, p: tx.insert_player(p))
    report.players = len(src.players)

    await _write_all(target, src.games, lambda tx, g: tx.insert_game(g))
    report.games = len(src.games)

    await _copy_wallets(source, target, accounts, report)

    await _write_all(target, src.sessions, lambda tx, s: tx.insert_session(s))
    report.sessions = len(src.sessions)
    await _write_all(target, src.limits, lambda tx, lim: tx.save_limits(lim))
    report.limits = len(src.limits)
    await _write_all(target, src.free_rounds, lambda tx, a: tx.insert_free_rounds(a))
    report.free_rounds = len(src.free_rounds)

    rounds = [r async for r in source.rounds() if r.account_id in accounts]
    await _write_all(target, rounds, lambda tx, r: tx.save_round(r))
    report.rounds = len(rounds)

    txs = [t async for t in source.transactions() if operator_id is None or t.operator_id == operator_id]
    await _write_all(target, txs, lambda tx, t: tx.insert_tx(t))
    report.transactions = len(txs)

    await _write_all(
        target,
        src.admin_ops,
        lambda tx, op: tx.insert_admin_op(op[0], op[1], op[2], parse_iso(op[3])),
    )
    report.admin_ops = len(src.admin_ops)
    return report
