"""The PostgreSQL loaders: a bet's and a settlement's whole state in one round trip, the player
with its operator in one statement.  They only load; they decide nothing."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, TypeVar

from .. import model
from ..ports import BetQuery, BetRows, SettleRows
from ..sql import rows as cols
from .codec import ROWS

R = TypeVar("R")


# load_bet in one round trip.  One statement cannot do it: under READ COMMITTED its snapshot is
# taken when it starts, so a statement that waited for the player lock would read what the
# lock's previous holder wrote as it was before (EvalPlanQual re-reads only the locked row).
# A VOLATILE SQL function takes a new snapshot for each of its statements: the first takes
# the lock, the second reads everything else after the lock is granted, exactly what the
# point reads would see.  It is created in each pooled session's own temporary schema
# (pg_temp: no schema change, nothing shared between sessions) once the schema is migrated;
# its columns are the tables' row types, mapped by column name (:func:`_named`).
_LOAD_ARGS = "a text, sc text, rid text, tid text, kinds text[], sid text, fr text"
_LOCK_THEN = "SELECT 1 FROM players WHERE account_id = a FOR UPDATE;"
_RECORDS = (
    "ARRAY(SELECT t FROM unnest(kinds) AS k(kind) JOIN transactions t ON t.operator_id = p.operator_id"
    " AND t.scope = sc AND t.kind = k.kind AND t.transaction_id = tid)"
)
_JOINS = """
  FROM players p
  LEFT JOIN operators o ON o.operator_id = p.operator_id
  LEFT JOIN sessions s ON s.session_id = sid
  LEFT JOIN rounds r ON r.account_id = a AND r.game_id = sc AND r.round_id = rid
  LEFT JOIN free_rounds f ON f.frbid = fr"""
_LOAD_BET_FN = f"""
CREATE FUNCTION pg_temp.gw_load_bet({_LOAD_ARGS})
RETURNS TABLE (p players, o operators, recs transactions[], s sessions, w wallets, r rounds, l limits,
               f free_rounds)
LANGUAGE sql VOLATILE AS $fn$
{_LOCK_THEN}
SELECT p, o, {_RECORDS}, s, w, r, l, f {_JOINS}
  LEFT JOIN wallets w ON w.account_id = a AND w.currency = COALESCE(
       (SELECT t.currency FROM transactions t WHERE t.operator_id = p.operator_id AND t.scope = sc
           AND t.kind = kinds[1] AND t.transaction_id = tid), s.currency)
  LEFT JOIN limits l ON l.account_id = a
 WHERE p.account_id = a
$fn$
"""
_LOAD_SETTLE_FN = f"""
CREATE FUNCTION pg_temp.gw_load_settle({_LOAD_ARGS})
RETURNS TABLE (p players, o operators, recs transactions[], s sessions, r rounds, ws wallets[], f free_rounds)
LANGUAGE sql VOLATILE AS $fn$
{_LOCK_THEN}
SELECT p, o, {_RECORDS}, s, r, ARRAY(SELECT w FROM wallets w WHERE w.account_id = a), f {_JOINS}
 WHERE p.account_id = a
$fn$
"""
_LOAD_BET_SQL = "SELECT p, o, recs, s, w, r, l, f FROM pg_temp.gw_load_bet($1, $2, $3, $4, $5, $6, $7)"
_LOAD_SETTLE_SQL = "SELECT p, o, recs, s, r, ws, f FROM pg_temp.gw_load_settle($1, $2, $3, $4, $5, $6, $7)"


def _names(columns: str) -> Callable[[Any], tuple[Any, ...]]:
    """A composite's columns by name, in the row mapper's order (one C call per row)."""
    get: Callable[[Any], tuple[Any, ...]] = itemgetter(*columns.split(", "))
    return get


_PLAYER_NAMES = _names(cols.PLAYER_COLS)
_OPERATOR_NAMES = _names(cols.OPERATOR_COLS)
_TX_NAMES = _names(cols.TX_COLS)
_SESSION_NAMES = _names(cols.SESSION_COLS)
_WALLET_NAMES = _names(cols.WALLET_COLS)
_ROUND_NAMES = _names(cols.ROUND_COLS)
_LIMITS_NAMES = _names(cols.LIMITS_COLS)
_FREE_ROUNDS_NAMES = _names(cols.FREE_ROUNDS_COLS)


def _named(rec: Any, names: Callable[[Any], tuple[Any, ...]], mapper: Callable[[Any], R]) -> R | None:
    """A table's row value (a composite, its columns by name) through the row mapper."""
    return None if rec is None else mapper(names(rec))


def _load_args(q: BetQuery) -> tuple[Any, ...]:
    return (q.account_id, q.game_id, q.round_id, q.transaction_id, list(q.kinds), q.session_id, q.frbid)


def _records(recs: Any) -> dict[str, model.TxRecord]:
    return {(t := ROWS.tx(_TX_NAMES(rec))).kind: t for rec in recs}


def _bet_rows(r: Any) -> BetRows:
    if r is None:
        return BetRows()
    return BetRows(
        _named(r[0], _PLAYER_NAMES, ROWS.player),
        _named(r[1], _OPERATOR_NAMES, ROWS.operator),
        _records(r[2]),
        _named(r[3], _SESSION_NAMES, ROWS.session),
        _named(r[4], _WALLET_NAMES, ROWS.wallet),
        _named(r[5], _ROUND_NAMES, ROWS.round),
        _named(r[6], _LIMITS_NAMES, ROWS.limits),
        _named(r[7], _FREE_ROUNDS_NAMES, ROWS.free_rounds),
    )


def _settle_rows(r: Any) -> SettleRows:
    if r is None:
        return SettleRows()
    wallets = (ROWS.wallet(_WALLET_NAMES(w)) for w in r[5])
    return SettleRows(
        _named(r[0], _PLAYER_NAMES, ROWS.player),
        _named(r[1], _OPERATOR_NAMES, ROWS.operator),
        _records(r[2]),
        _named(r[3], _SESSION_NAMES, ROWS.session),
        _named(r[4], _ROUND_NAMES, ROWS.round),
        {w.currency: w for w in wallets},
        _named(r[6], _FREE_ROUNDS_NAMES, ROWS.free_rounds),
    )


# lock_player_and_operator: the player row locked, its operator read along (columns 10..18).  FOR UPDATE
# OF p locks only the player; a LEFT JOIN so a player is never lost to the join.
_LOCK_PLAYER_SQL = (
    f"SELECT {', '.join('p.' + c for c in cols.PLAYER_COLS.split(', '))},"
    f" {', '.join('o.' + c for c in cols.OPERATOR_COLS.split(', '))}"
    " FROM players p LEFT JOIN operators o ON o.operator_id = p.operator_id WHERE p.account_id = $1 FOR UPDATE OF p"
)
