"""The filtered reads both SQL stores run, written once: their predicates come from the domain.

What stays in SQL, and why: a filter that an index serves (``holds_due`` and
``holds_account_open``, partial on the open state; ``rounds_open`` on (status, created_at);
``journal_flow``; ``players_email``, unique per operator on the normalised e-mail) or a count
that would otherwise load every row.  *What* is selected is decided in
:mod:`wallet_store.domain.selection`: which state is open, how many wagers are live, how an
e-mail is normalised.  Those values reach the statement as parameters, except the open state
of a hold, which stands in the text (:func:`~wallet_store.domain.selection.sql_word`) because a
partial index is used only when the query states its condition literally.

A backend differs here only in its placeholder (``?`` or ``$n``) and its codec (how a
timestamp is written); each Tx supplies :meth:`SqlReads._fetch` over its own connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, cast

from .. import model
from ..domain import selection
from ..loads import load_bet_by_reads, load_settle_by_reads
from ..ports import BetQuery, BetRows, SettleRows, Tx, ViewRows
from .rows import (
    HOLD_COLS,
    JOURNAL_COLS,
    OPERATOR_COLS,
    PLAYER_COLS,
    ROUND_COLS,
    SESSION_COLS,
    TX_COLS,
    WALLET_COLS,
    Codec,
    Rows,
    aliased,
    width,
)

#: Every open hold (what each wallet's ``reserved`` must add up to), for the audit stream.
OPEN_HOLDS_SQL = (
    f"SELECT {HOLD_COLS} FROM holds WHERE state = {selection.sql_word(selection.OPEN_HOLD)}"
    " ORDER BY account_id, currency, hold_id"
)


_TXS_SQL: dict[tuple[type, int], str] = {}  # get_txs' statement per backend and number of kinds


_N_PLAYER, _N_SESSION, _N_OPERATOR = (width(c) for c in (PLAYER_COLS, SESSION_COLS, OPERATOR_COLS))

#: load_view's one statement (``{0}``, ``{1}``: the dialect's first two placeholders).  Every
#: part is a LEFT JOIN from one constant row, so a missing player or session reads as NULLs
#: and the service still tells them apart; the wallet is the player's in the session's currency.
_VIEW_SQL = (
    f"SELECT {aliased('p', PLAYER_COLS)}, {aliased('s', SESSION_COLS)}, {aliased('o', OPERATOR_COLS)},"
    f" {aliased('w', WALLET_COLS)}"
    " FROM (SELECT 1 AS one) AS q"
    " LEFT JOIN players p ON p.account_id = {0}"
    " LEFT JOIN sessions s ON s.session_id = {1}"
    " LEFT JOIN operators o ON o.operator_id = p.operator_id"
    " LEFT JOIN wallets w ON w.account_id = p.account_id AND w.currency = s.currency"
)


class _Where:
    """A WHERE clause built term by term, its parameters numbered for the dialect."""

    def __init__(self, placeholder: Callable[[int], str]) -> None:
        self._ph = placeholder
        self.terms: list[str] = []
        self.params: list[Any] = []

    def add(self, term: str, *values: Any) -> None:
        """``term`` with one ``{}`` per value, in order."""
        marks = []
        for v in values:
            self.params.append(v)
            marks.append(self._ph(len(self.params)))
        self.terms.append(term.format(*marks))

    def next(self) -> str:
        """The placeholder of the parameter after these (LIMIT, OFFSET)."""
        return self._ph(len(self.params) + 1)

    def __str__(self) -> str:
        return " AND ".join(self.terms)


class SqlReads:
    """The filtered reads of :class:`wallet_store.ports.Tx`, shared by both SQL backends.

    A subclass sets ``_placeholder``, ``_codec`` and ``_rows`` and implements :meth:`_fetch`.
    """

    _placeholder: Callable[[int], str]
    _codec: Codec
    _rows: Rows

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of one statement, run on this unit's connection."""
        raise NotImplementedError

    def _where(self) -> _Where:
        return _Where(self._placeholder)

    async def _count(self, table: str, where: _Where) -> int:
        rows = await self._fetch(f"SELECT count(*) FROM {table} WHERE {where}", where.params)
        return int(rows[0][0])

    async def get_txs(
        self, operator_id: str, scope: str, transaction_id: str, kinds: Sequence[str]
    ) -> dict[str, model.TxRecord]:
        if not kinds:
            return {}
        params: list[Any] = []
        for kind in kinds:
            params += (operator_id, scope, kind, transaction_id)
        rows = await self._fetch(self._txs_sql(len(kinds)), params)
        return {(rec := self._rows.tx(r)).kind: rec for r in rows}

    def _txs_sql(self, n: int) -> str:
        """One primary-key lookup per kind, joined by UNION ALL (PostgreSQL 15 does not use
        "kind IN (...)" on the key's third column as an index condition); built once per
        backend and number of kinds (it is on every money request's path)."""
        key = (type(self), n)
        sql = _TXS_SQL.get(key)
        if sql is None:
            w = self._where()
            parts = []
            for _ in range(n):
                w.terms = []
                w.add("operator_id = {} AND scope = {} AND kind = {} AND transaction_id = {}", *"okst")
                parts.append(f"SELECT {TX_COLS} FROM transactions WHERE {w}")
            sql = _TXS_SQL[key] = " UNION ALL ".join(parts)
        return sql

    async def load_bet(self, q: BetQuery) -> BetRows:
        # The point reads, composed once (a backend that loads it in one statement overrides this).
        return await load_bet_by_reads(cast(Tx, self), q)

    async def load_settle(self, q: BetQuery) -> SettleRows:
        return await load_settle_by_reads(cast(Tx, self), q)

    async def load_view(self, account_id: str, session_id: str) -> ViewRows:
        rows = await self._fetch(_VIEW_SQL.format(self._placeholder(1), self._placeholder(2)), (account_id, session_id))
        r = tuple(rows[0])
        a, b, c = _N_PLAYER, _N_PLAYER + _N_SESSION, _N_PLAYER + _N_SESSION + _N_OPERATOR
        m = self._rows
        return ViewRows(
            player=None if r[0] is None else m.player(r[:a]),
            session=None if r[a] is None else m.session(r[a:b]),
            operator=None if r[b] is None else m.operator(r[b:c]),
            wallet=None if r[c] is None else m.wallet(r[c:]),
        )

    async def get_player_by_email(self, operator_id: str, email: str) -> model.Player | None:
        w = self._where()
        w.add("operator_id = {}", operator_id)
        w.add("email_norm = {}", selection.normalize_email(email))
        rows = await self._fetch(f"SELECT {PLAYER_COLS} FROM players WHERE {w}", w.params)
        return self._rows.player(rows[0]) if rows else None

    async def count_open_rounds(self) -> int:
        w = self._where()
        self._open_rounds(w)
        return await self._count("rounds", w)

    async def list_open_rounds(
        self, opened_before: datetime, after: tuple[datetime, str, str, str] | None, limit: int
    ) -> list[model.Round]:
        ts = self._codec.ts_out
        w = self._where()
        self._open_rounds(w)
        w.add("created_at < {}", ts(opened_before))
        if after is not None:
            w.add("(created_at, account_id, game_id, round_id) > ({}, {}, {}, {})", ts(after[0]), *after[1:])
        sql = f"SELECT {ROUND_COLS} FROM rounds WHERE {w} ORDER BY created_at, account_id, game_id, round_id"
        rows = await self._fetch(f"{sql} LIMIT {w.next()}", [*w.params, limit])
        return [self._rows.round(r) for r in rows]

    @staticmethod
    def _open_rounds(w: _Where) -> None:
        """The rounds :func:`~wallet_store.domain.selection.round_is_open` accepts."""
        w.add("status = {}", selection.OPEN_ROUND)
        w.add("wagers >= {}", selection.MIN_LIVE_WAGERS)

    async def count_open_holds(self, account_id: str) -> int:
        w = self._where()
        w.add("account_id = {}", account_id)
        w.add(f"state = {selection.sql_word(selection.OPEN_HOLD)}")
        return await self._count("holds", w)

    async def list_due_holds(self, now: datetime, limit: int, account_id: str | None = None) -> list[model.Hold]:
        """The holds :func:`~wallet_store.domain.selection.hold_is_due` accepts, in
        :func:`~wallet_store.domain.selection.due_order`."""
        w = self._where()
        if account_id is not None:
            w.add("account_id = {}", account_id)
        w.add(f"state = {selection.sql_word(selection.OPEN_HOLD)}")
        w.add("expires_at <= {}", self._codec.ts_out(now))
        sql = f"SELECT {HOLD_COLS} FROM holds WHERE {w} ORDER BY expires_at, hold_id LIMIT {w.next()}"
        rows = await self._fetch(sql, [*w.params, limit])
        return [self._rows.hold(r) for r in rows]

    async def list_tx_between(
        self, start: datetime, end: datetime, kinds: Collection[str], operator_id: str | None = None
    ) -> list[model.TxRecord]:
        ts = self._codec.ts_out
        w = self._where()
        if operator_id is not None:
            w.add("operator_id = {}", operator_id)
        # No kind asked for selects nothing (an empty IN list is not valid everywhere).
        w.add(f"kind IN ({', '.join('{}' for _ in kinds)})" if kinds else "0 = 1", *sorted(kinds))
        w.add("created_at >= {}", ts(start))
        w.add("created_at < {}", ts(end))
        sql = f"SELECT {TX_COLS} FROM transactions WHERE {w} ORDER BY created_at, kind, transaction_id"
        return [self._rows.tx(r) for r in await self._fetch(sql, w.params)]

    async def journal_page(
        self,
        account_id: str,
        currency: str,
        *,
        flows: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[model.JournalEntry]]:
        ts = self._codec.ts_out
        w = self._where()
        w.add("account_id = {}", account_id)
        w.add("currency = {}", currency)
        if flows is not None:
            # No direction asked for selects nothing (an empty IN list is not valid everywhere).
            w.add(f"flow IN ({', '.join('{}' for _ in flows)})" if flows else "0 = 1", *flows)
        if since is not None:
            w.add("created_at >= {}", ts(since))
        if until is not None:
            w.add("created_at < {}", ts(until))
        total = await self._count("journal", w)
        n = len(w.params)
        sql = f"SELECT {JOURNAL_COLS} FROM journal WHERE {w} ORDER BY seq DESC"
        rows = await self._fetch(
            f"{sql} LIMIT {self._placeholder(n + 1)} OFFSET {self._placeholder(n + 2)}", [*w.params, limit, offset]
        )
        return total, [self._rows.journal(r) for r in rows]
