"""The PostgreSQL unit of work's deferred writes: a unit's closing writes, sent with its COMMIT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..sql import rows as cols
from .literals import literals

# --- deferred writes ---------------------------------------------------------------------
#
# A round trip to PostgreSQL costs the service far more CPU than the statement itself (the
# write() to the server's socket alone is ~20 us on loopback TCP), and a wager's closing
# writes (wallet + journal, round, transaction record, last_active) return nothing the unit
# needs.  So these writes are queued in the Tx and sent, in the order they were made, as ONE
# simple-query message: ``EXECUTE gw_w_insert_tx('...', ...); EXECUTE ...; COMMIT`` when the
# unit returns (the unit's last round trip), or without the COMMIT just before the next
# statement of the unit that is not one of them (a read, any other write), so every
# statement still sees every earlier write of its unit.
#
# * Each write is a statement PREPAREd once per pooled session (:func:`prepare_sql`, run by
#   the store's connection init): PostgreSQL does not parse and plan it again, the message
#   only names it and gives its arguments as literals (:mod:`wallet_store.postgres.literals`:
#   quoted strings typed by the prepared statement's parameters).
# * The statements run one after the other in one transaction, exactly as if sent one by one.
# * The checks stay, in SQL: ``save_wallet``'s optimistic seq check (the journal rows are
#   inserted only if the wallet UPDATE matched), ``save_round``'s "no new round without
#   created_at" and ``drop_refusal``'s state condition call ``pg_temp.gw_check``, which
#   raises SQLSTATE ``CHECK_SQLSTATE`` with the write's name; the Tx turns it into the
#   write's TechnicalError.  A failed statement stops the message: the writes after it and
#   the COMMIT are skipped by PostgreSQL (the transaction is aborted), the store rolls back.
# * A driver error of any write (unique violation, check violation, lost connection) is
#   mapped exactly as before (retry / Conflict / StoreUnavailable, ``tx.failed``).
# * The unit sees such an error at its next statement or when it returns, not at the write
#   call itself; the transaction is rolled back either way.  When a unit raises an
#   exception with writes still queued, they are sent first (they would have run before the
#   raise), so a driver error still takes precedence over the unit's exception.
# * COMMIT's status is checked: PostgreSQL answers ROLLBACK to the COMMIT of an aborted
#   transaction, which must fail the unit, never acknowledge it.

CHECK_SQLSTATE = "GW001"
# The check a write's statement ends with: raises (aborting the transaction) unless ok.
CHECK_FN = f"""
CREATE FUNCTION pg_temp.gw_check(ok boolean, what text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = '{CHECK_SQLSTATE}', MESSAGE = what;
  END IF;
  RETURN 1;
END
$fn$
"""


class _Write:
    """A write that can be queued: its prepared statement's name and text (``$1``... are its
    parameters) and, if its statement checks a row count, the error when the check fails."""

    __slots__ = ("error", "name", "sql")

    def __init__(self, name: str, sql: str, *, error: str = "") -> None:
        self.name = name
        self.sql = sql
        self.error = error


def _checked(ctes: str, counted: str, name: str) -> str:
    """A data-modifying statement whose ``counted`` CTE must have affected exactly one row."""
    return f"WITH {ctes} SELECT pg_temp.gw_check((SELECT count(*) FROM {counted}) = 1, '{name}')"


_W_SAVE_WALLET = _Write(
    "gw_w_save_wallet",
    _checked(
        "w AS (UPDATE wallets SET real=$1, bonus=$2, reserved=$3, seq=$4, last_hash=$5, updated_at=$6"
        " WHERE account_id=$7 AND currency=$8 AND seq=$9 RETURNING 1),"
        # One row per entry (any number of entries, one statement text), only if the UPDATE matched.
        f" j AS (INSERT INTO journal ({cols.JOURNAL_COLS}, flow) SELECT e.* FROM w,"
        " unnest($10::text[], $11::text[], $12::bigint[], $13::text[], $14::numeric[], $15::numeric[],"
        " $16::numeric[], $17::numeric[], $18::numeric[], $19::numeric[], $20::text[], $21::text[],"
        " $22::timestamptz[], $23::text[], $24::text[], $25::text[]) AS e),"
        # The chain head beside the wallet (audit: a rewind must edit both), same condition.
        " h AS (INSERT INTO journal_heads (account_id, currency, seq, hash)"
        " SELECT $7::text, $8::text, $4::bigint, $5::text FROM w"
        " ON CONFLICT (account_id, currency) DO UPDATE SET seq = excluded.seq, hash = excluded.hash)",
        "w",
        "gw_w_save_wallet",
    ),
    error="wallet changed under the unit of work",
)
_W_ROUND_UPSERT = _Write(
    "gw_w_round_upsert",
    f"INSERT INTO rounds ({cols.ROUND_SAVE_COLS})"
    f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) {cols.ROUND_ON_CONFLICT}",
)
_W_ROUND_UPDATE = _Write(
    "gw_w_round_update",
    _checked(
        "r AS (UPDATE rounds SET real_bet=$1, bonus_bet=$2, real_win=$3, bonus_win=$4, wagers=$5, results=$6,"
        " closed_at=$7, status=$8 WHERE account_id=$9 AND game_id=$10 AND round_id=$11 RETURNING 1)",
        "r",
        "gw_w_round_update",
    ),
    error="a new round without created_at",
)
_W_INSERT_TX = _Write(
    "gw_w_insert_tx",
    f"INSERT INTO transactions ({cols.TX_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
)
_W_TX_STATE = _Write(
    "gw_w_tx_state",
    "UPDATE transactions SET state=$1 WHERE operator_id=$2 AND scope=$3 AND kind=$4 AND transaction_id=$5",
)
_W_DROP_REFUSAL = _Write(
    "gw_w_drop_refusal",
    _checked(
        "d AS (DELETE FROM transactions WHERE operator_id=$1 AND scope=$2 AND kind=$3 AND transaction_id=$4"
        " AND state=$5 RETURNING 1)",
        "d",
        "gw_w_drop_refusal",
    ),
    error="the refusal to replace is no longer there",
)
_W_TOUCH_PLAYER = _Write("gw_w_touch_player", "UPDATE players SET last_active=$1 WHERE account_id=$2")

WRITES = {
    w.name: w
    for w in (
        _W_SAVE_WALLET,
        _W_ROUND_UPSERT,
        _W_ROUND_UPDATE,
        _W_INSERT_TX,
        _W_TX_STATE,
        _W_DROP_REFUSAL,
        _W_TOUCH_PLAYER,
    )
}


def prepare_sql() -> str:
    """What a new pooled session runs once (with the loaders' functions): the check function
    and every deferred write PREPAREd under its name."""
    return ";".join([CHECK_FN, *(f"PREPARE {w.name} AS {w.sql}" for w in WRITES.values())])


def batch(queued: Sequence[tuple[_Write, Sequence[Any]]]) -> str:
    """The queued writes as one simple-query text, in order (literals: see :mod:`.literals`;
    raises ValueError for a value it cannot render, before anything is sent)."""
    return ";".join([f"EXECUTE {w.name}({literals(args)})" for w, args in queued])
