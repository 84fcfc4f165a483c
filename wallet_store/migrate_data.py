"""Copy an operator's data (or everything) from one store to another, empty one.

Used by ``groove-wallet migrate-data --from sqlite:///... --to postgresql://...`` to move
from the embedded store to PostgreSQL.

What is read, and how
---------------------
* wallets, journal, rounds, transactions: the :class:`~wallet_store.ports.WalletStore`
  streams (any backend).
* operators, players, sessions, limits, free rounds, admin ops, games (v2), currencies, rate
  history and external identities (v3), holds, transfers/sends, payments, item purchases,
  the SMS outbox and player phones (v4), per-game rate-limit overrides (v5), operators'
  signature schemes (v6; "concat" from an older source) have no stream
  in the Protocol; they are read here with backend-specific SQL on the source: the SQLite
  file through the stdlib :mod:`sqlite3` module (read-only) and the SQLite store's row
  mappers.  Only an SQLite source is supported (that is the move this tool exists for).
  ``--operator`` keeps the rows of that operator, its players and its games only.

What is written, and how
------------------------
Everything through :meth:`WalletStore.write` units and the :class:`~wallet_store.ports.Tx`
Protocol only, so any backend can be the target.  The journal is copied entry by entry *as
it is* (same seq, hashes, timestamps): each wallet is inserted empty (seq 0, genesis hash)
and then brought forward with :meth:`Tx.save_wallet` one batch of its entries at a time,
the wallet row set to the state after the batch's last entry (``save_wallet``'s seq guard
then checks the batches chain up).  The last batch writes the source wallet row itself, so
the copy ends exactly where the source was; a source wallet that is not at the end of its
journal is refused (run ``groove-wallet audit`` on the source).  ``save_wallet`` also records
each wallet's chain head (``journal_heads``), so the heads come along with the journal: the
target reaches every head an ``audit --write-head`` exported from the source.

Holds, flows, payments, item purchases and SMS rows are inserted as they are (same ids,
states, code hashes, attempts, steps, stored replies, timestamps), so an open transfer can
be verified with the code already sent and claimed on the target, a ``requires_action``
purchase confirmed, and every completed step or purchase replays its original reply.  The
SMS outbox is copied oldest first, so its order (newest first in the admin API) is kept.

Holds and ``reserved``: ``groove-wallet audit`` checks each wallet's ``reserved`` against its
journal, not against the holds table.  So the migration checks it itself: before writing
anything, every in-scope source wallet's ``reserved`` must equal the sum of its open holds
(each hold's real + bonus equal to its amount) and every flow's hold must be copied with
it; after the copy, the target must show the same open-hold count per account and the same
``reserved`` per wallet.

Not one transaction: a migration that fails half-way leaves a partial target.  Start again
on a fresh database (the target must hold none of the operators or accounts, checked
before anything is written).  Stop the service on the source while migrating.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import money
from .domain.hub88 import Hub88Settings
from .errors import WalletError
from .model import (
    Currency,
    Flow,
    FreeRoundAward,
    GameSession,
    Hold,
    ItemPurchase,
    JournalEntry,
    Limits,
    Operator,
    Payment,
    Player,
    RateChange,
    SmsMessage,
    Wallet,
    parse_iso,
)
from .ports import Tx, WalletStore
from .rate_limits import GameRateLimits

BATCH = 500


class MigrationRefused(WalletError):
    """The migration cannot start (non-empty target, unsupported source, bad source data)."""


class MigrationMismatch(WalletError):
    """After the copy, the target does not show what was copied (start again on a fresh database)."""


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
    currencies: int = 0
    identities: int = 0
    holds: int = 0
    open_holds: int = 0
    flows: int = 0
    payments: int = 0
    item_purchases: int = 0
    sms: int = 0
    phones: int = 0
    game_rate_limits: int = 0
    hub88_settings: int = 0
    accounts: set[str] = field(default_factory=set, repr=False)

    def text(self) -> str:
        return (
            f"migrated {self.operators} operators, {self.players} players, {self.wallets} wallets,"
            f" {self.entries} journal entries, {self.sessions} sessions, {self.transactions} transactions,"
            f" {self.rounds} rounds, {self.limits} limits, {self.free_rounds} free-round awards,"
            f" {self.admin_ops} admin ops, {self.games} games, {self.currencies} currencies,"
            f" {self.identities} external identities, {self.holds} holds ({self.open_holds} open),"
            f" {self.flows} transfers/sends, {self.payments} payments, {self.item_purchases} item purchases,"
            f" {self.sms} SMS, {self.phones} phones, {self.game_rate_limits} game rate limits,"
            f" {self.hub88_settings} Hub88 settings"
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
    # schema version 3, when the source has it
    currencies: list[Currency] = field(default_factory=list)
    rate_changes: list[RateChange] = field(default_factory=list)
    identities: list[tuple[str, str, str, str]] = field(default_factory=list)  # operator, identity, account, at
    # schema version 4, when the source has it
    holds: list[Hold] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    item_purchases: list[ItemPurchase] = field(default_factory=list)
    sms: list[SmsMessage] = field(default_factory=list)  # oldest first (outbox order)
    phones: list[tuple[str, str, str]] = field(default_factory=list)  # account, phone, updated_at (ISO)
    # schema version 5, when the source has it
    game_limits: list[GameRateLimits] = field(default_factory=list)
    # schema version 8, when the source has it
    hub88: list[Hub88Settings] = field(default_factory=list)


def _read_sqlite(path: str, operator_id: str | None) -> _Source:
    from .sql.rows import FREE_ROUNDS_COLS, LIMITS_COLS, SESSION_COLS
    from .sql.rows import OPERATOR_COLS as _OPERATOR_COLS
    from .sql.rows import PLAYER_COLS as _PLAYER_COLS
    from .sqlite.tx import _OPERATOR_COLS_V1, ROWS

    _operator, _player = ROWS.operator, ROWS.player

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        where, args = ("WHERE operator_id = ?", (operator_id,)) if operator_id is not None else ("", ())
        # Before schema version 7 there is no signature_scheme column: those operators are "concat".
        op_cols = _OPERATOR_COLS if _has_column(conn, "operators", "signature_scheme") else _OPERATOR_COLS_V1
        operators = [
            _operator(r) for r in conn.execute(f"SELECT {op_cols} FROM operators {where} ORDER BY operator_id", args)
        ]
        players = [
            _player(r) for r in conn.execute(f"SELECT {_PLAYER_COLS} FROM players {where} ORDER BY account_id", args)
        ]
        accounts = {p.account_id for p in players}
        sessions = [
            s
            for s in map(ROWS.session, conn.execute(f"SELECT {SESSION_COLS} FROM sessions ORDER BY session_id"))
            if s.account_id in accounts
        ]
        limits = [
            lim
            for lim in map(ROWS.limits, conn.execute(f"SELECT {LIMITS_COLS} FROM limits ORDER BY account_id"))
            if lim.account_id in accounts
        ]
        free_rounds = [
            f
            for f in map(ROWS.free_rounds, conn.execute(f"SELECT {FREE_ROUNDS_COLS} FROM free_rounds ORDER BY frbid"))
            if f.account_id in accounts
        ]
        admin_ops = [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
            for r in conn.execute("SELECT key, fingerprint, reply, created_at FROM admin_ops ORDER BY key")
            if operator_id is None or _admin_op_account(str(r[2])) in accounts
        ]
        games: list[Any] = []
        if _has_table(conn, "games"):
            from .sql.rows import GAME_COLS as _GAME_COLS
            from .sqlite.tx import ROWS

            _game = ROWS.game

            games = [_game(r) for r in conn.execute(f"SELECT {_GAME_COLS} FROM games {where} ORDER BY game_id", args)]
        source = _Source(operators, players, sessions, limits, free_rounds, admin_ops, games)
        operator_ids = {op.operator_id for op in operators}
        if _has_table(conn, "currencies"):
            _read_v3(conn, source, operator_ids, accounts)
        if _has_table(conn, "holds"):
            _read_v4(conn, source, operator_ids, accounts)
        if _has_table(conn, "game_rate_limits"):
            _read_v5(conn, source, {g.game_id for g in games})
        if _has_table(conn, "hub88_operators"):
            _read_v8(conn, source, operator_ids)
    finally:
        conn.close()
    return source


def _read_v3(conn: sqlite3.Connection, src: _Source, operators: set[str], accounts: set[str]) -> None:
    """Currencies, their rate history and external identities (schema version 3)."""
    from .sql.rows import CURRENCY_COLS as _CURRENCY_COLS
    from .sql.rows import RATE_CHANGE_COLS
    from .sqlite.tx import ROWS

    _currency = ROWS.currency

    src.currencies = [
        c
        for c in map(_currency, conn.execute(f"SELECT {_CURRENCY_COLS} FROM currencies ORDER BY operator_id, code"))
        if c.operator_id in operators
    ]
    src.rate_changes = [
        rc
        for rc in map(ROWS.rate_change, conn.execute(f"SELECT {RATE_CHANGE_COLS} FROM currency_rates ORDER BY id"))
        if rc.operator_id in operators
    ]
    src.identities = [
        (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
        for r in conn.execute(
            "SELECT operator_id, identity, account_id, created_at FROM identities ORDER BY operator_id, identity"
        )
        if r[2] in accounts
    ]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def _read_v4(conn: sqlite3.Connection, src: _Source, operators: set[str], accounts: set[str]) -> None:
    """Holds, transfers/sends, payments, item purchases, the SMS outbox, phones (schema version 4).

    Holds, SMS and phones belong to an account; flows, payments and item purchases carry
    their operator (their accounts are checked by :func:`_check_v4`).
    """
    from .sql.rows import FLOW_COLS as _FLOW_COLS
    from .sql.rows import HOLD_COLS as _HOLD_COLS
    from .sql.rows import ITEM_COLS as _ITEM_COLS
    from .sql.rows import PAYMENT_COLS as _PAYMENT_COLS
    from .sql.rows import SMS_COLS as _SMS_COLS
    from .sqlite.tx import ROWS

    _flow, _hold, _item_purchase, _payment, _sms = ROWS.flow, ROWS.hold, ROWS.item_purchase, ROWS.payment, ROWS.sms

    src.holds = [
        h
        for h in map(_hold, conn.execute(f"SELECT {_HOLD_COLS} FROM holds ORDER BY hold_id"))
        if h.account_id in accounts
    ]
    src.flows = [
        f
        for f in map(_flow, conn.execute(f"SELECT {_FLOW_COLS} FROM flows ORDER BY flow_id"))
        if f.operator_id in operators
    ]
    src.payments = [
        p
        for p in map(_payment, conn.execute(f"SELECT {_PAYMENT_COLS} FROM payments ORDER BY payment_id"))
        if p.operator_id in operators
    ]
    src.item_purchases = [
        p
        for p in map(_item_purchase, conn.execute(f"SELECT {_ITEM_COLS} FROM item_purchases ORDER BY purchase_id"))
        if p.operator_id in operators
    ]
    src.sms = [
        m
        for m in map(_sms, conn.execute(f"SELECT {_SMS_COLS} FROM sms_outbox ORDER BY id"))
        if m.account_id in accounts
    ]
    src.phones = [
        (str(r[0]), str(r[1]), str(r[2]))
        for r in conn.execute("SELECT account_id, phone, updated_at FROM player_phones ORDER BY account_id")
        if r[0] in accounts
    ]


def _read_v8(conn: sqlite3.Connection, src: _Source, operator_ids: set[str]) -> None:
    """Hub88 settings (schema version 8) of the operators being copied."""
    from .sql.rows import HUB88_COLS
    from .sqlite.tx import ROWS

    rows = conn.execute(f"SELECT {HUB88_COLS} FROM hub88_operators ORDER BY operator_id")
    src.hub88 = [h for h in map(ROWS.hub88, rows) if h.operator_id in operator_ids]


def _read_v5(conn: sqlite3.Connection, src: _Source, games: set[str]) -> None:
    """Per-game rate-limit overrides (schema version 5) of the games being copied."""
    from .sql.rows import GAME_LIMIT_COLS
    from .sqlite.tx import ROWS

    src.game_limits = [
        lim
        for lim in map(
            ROWS.game_limits, conn.execute(f"SELECT {GAME_LIMIT_COLS} FROM game_rate_limits ORDER BY game_id")
        )
        if lim.game_id in games
    ]


def _open_holds(holds: Sequence[Hold]) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(count, sum of amounts) of the open holds per (account, currency)."""
    out: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for h in holds:
        if h.state == "open":
            n, total = out.get((h.account_id, h.currency), (0, money.ZERO))
            out[(h.account_id, h.currency)] = (n + 1, money.add(total, h.amount))
    return out


def _check_v4(src: _Source, wallets: dict[tuple[str, str], Wallet], accounts: set[str]) -> None:
    """Refuse, before anything is written, source rows the copy would make inconsistent."""
    problems: list[str] = []
    for h in src.holds:
        if money.add(h.real, h.bonus) != h.amount:
            problems.append(f"hold {h.hold_id}: real {h.real} + bonus {h.bonus} != amount {h.amount}")
    open_holds = _open_holds(src.holds)
    for key in sorted(wallets.keys() | open_holds.keys()):
        wallet = wallets.get(key)
        reserved = wallet.reserved if wallet is not None else None
        held = open_holds.get(key, (0, money.ZERO))[1]
        if reserved != held:
            problems.append(f"wallet {key[0]}/{key[1]}: reserved {reserved} but its open holds add up to {held}")
    hold_ids = {h.hold_id for h in src.holds}
    for f in src.flows:
        if f.hold_id not in hold_ids:
            problems.append(f"flow {f.flow_id}: its hold {f.hold_id} is not among the holds copied")
        for acct in (f.source_account, f.target_account):
            if acct is not None and acct not in accounts:
                problems.append(f"flow {f.flow_id}: account {acct} is not among the players copied")
    owned = [(p.payment_id, p.account_id) for p in src.payments]
    owned += [(p.purchase_id, p.account_id) for p in src.item_purchases]
    for row_id, acct in owned:
        if acct not in accounts:
            problems.append(f"{row_id}: account {acct} is not among the players copied")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise MigrationRefused(f"the source's holds and flows are inconsistent: {shown}")


async def _verify_holds(target: WalletStore, src: _Source, wallets: dict[tuple[str, str], Wallet]) -> None:
    """After the copy: the target's open holds per account and ``reserved`` per wallet are the source's."""
    open_holds = _open_holds(src.holds)
    per_account: dict[str, int] = {}
    for (acct, _), (n, _) in open_holds.items():
        per_account[acct] = per_account.get(acct, 0) + n
    keys = sorted(k for k, w in wallets.items() if w.reserved != 0 or k in open_holds)
    problems: list[str] = []
    accts = sorted(per_account)
    for i in range(0, len(accts), BATCH):

        async def count_unit(tx: Tx, chunk: Sequence[str] = accts[i : i + BATCH]) -> list[str]:
            found = [(a, await tx.count_open_holds(a)) for a in chunk]
            return [f"account {a}: {n} open holds, expected {per_account[a]}" for a, n in found if n != per_account[a]]

        problems += await target.read(count_unit)
    for i in range(0, len(keys), BATCH):

        async def reserved_unit(tx: Tx, chunk: Sequence[tuple[str, str]] = keys[i : i + BATCH]) -> list[str]:
            out: list[str] = []
            for acct, cur in chunk:
                w = await tx.get_wallet(acct, cur)
                if w is None or w.reserved != wallets[(acct, cur)].reserved:
                    got = None if w is None else w.reserved
                    out.append(f"wallet {acct}/{cur}: reserved {got}, expected {wallets[(acct, cur)].reserved}")
            return out

        problems += await target.read(reserved_unit)
    if problems:
        raise MigrationMismatch("the target's holds do not match the copy: " + "; ".join(problems[:10]))


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


async def _source_wallets(source: WalletStore, accounts: set[str]) -> dict[tuple[str, str], Wallet]:
    wallets: dict[tuple[str, str], Wallet] = {}
    async for w in source.wallets():
        if w.account_id in accounts:
            wallets[(w.account_id, w.currency)] = w
    return wallets


async def _copy_wallets(
    source: WalletStore,
    target: WalletStore,
    wallets: dict[tuple[str, str], Wallet],
    accounts: set[str],
    report: MigrationReport,
) -> None:
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
    the target already holds any of the operators or accounts, or when the source's holds
    do not add up to its wallets' ``reserved`` (see :func:`_check_v4`);
    :class:`MigrationMismatch` when the target's holds do not show the copy afterwards.
    """
    src = _read_sqlite(_source_path(source), operator_id)
    if operator_id is not None and not src.operators:
        raise MigrationRefused(f"operator {operator_id} not found in the source")
    await _refuse_if_present(target, src)
    accounts = {p.account_id for p in src.players}
    wallets = await _source_wallets(source, accounts)
    _check_v4(src, wallets, accounts)

    report = MigrationReport()
    report.accounts = accounts

    await _write_all(target, src.operators, lambda tx, op: tx.insert_operator(op))
    report.operators = len(src.operators)
    await _write_all(target, src.currencies, lambda tx, c: tx.save_currency(c))
    await _write_all(target, src.rate_changes, lambda tx, ch: tx.insert_rate_change(ch))
    report.currencies = len(src.currencies)
    await _write_all(target, src.players, lambda tx, p: tx.insert_player(p))
    report.players = len(src.players)
    await _write_all(target, src.identities, lambda tx, i: tx.insert_identity(i[0], i[1], i[2], parse_iso(i[3])))
    report.identities = len(src.identities)

    await _write_all(target, src.games, lambda tx, g: tx.insert_game(g))
    report.games = len(src.games)

    await _write_all(target, src.game_limits, lambda tx, lim: tx.save_game_limits(lim))
    report.game_rate_limits = len(src.game_limits)
    await _write_all(target, src.hub88, lambda tx, h: tx.save_hub88_settings(h))
    report.hub88_settings = len(src.hub88)

    await _copy_wallets(source, target, wallets, accounts, report)

    # holds and flows (schema version 4), as they are; a flow's hold first (foreign key)
    await _write_all(target, src.phones, lambda tx, p: tx.set_phone(p[0], p[1], parse_iso(p[2])))
    report.phones = len(src.phones)
    await _write_all(target, src.holds, lambda tx, h: tx.insert_hold(h))
    report.holds = len(src.holds)
    report.open_holds = sum(1 for h in src.holds if h.state == "open")
    await _write_all(target, src.flows, lambda tx, f: tx.insert_flow(f))
    report.flows = len(src.flows)
    await _write_all(target, src.payments, lambda tx, p: tx.insert_payment(p))
    report.payments = len(src.payments)
    await _write_all(target, src.item_purchases, lambda tx, p: tx.insert_item_purchase(p))
    report.item_purchases = len(src.item_purchases)
    await _write_all(target, src.sms, lambda tx, m: tx.insert_sms(m))  # one after the other: order kept
    report.sms = len(src.sms)
    await _verify_holds(target, src, wallets)

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
