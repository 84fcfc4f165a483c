"""The PostgreSQL unit of work's deferred writes: a unit's closing writes sent as one statement."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..sql import rows as cols

# --- deferred writes ---------------------------------------------------------------------
#
# A round trip to PostgreSQL costs the service far more CPU than the statement itself (the
# write() to the server's socket alone is ~20 us on loopback TCP), and a wager's closing
# writes (wallet + journal, round, transaction record, last_active) return nothing the unit
# needs.  So these writes are queued in the Tx and sent together as ONE statement (one
# data-modifying CTE per write) just before the next statement of the unit or, at the
# latest, before COMMIT.
#
# Why this is the same as running them one by one:
# * Only the writes below are queued, each on its own table(s); a write on a table that a
#   queued write already touches sends the queue first.  The parts of one statement all see
#   the snapshot taken when it starts and none reads what another writes, so their order
#   does not matter.  Anything else (a read, any other write) sends the queue first, so
#   every statement still sees every earlier write of its unit.
# * The checks stay: ``save_wallet``'s optimistic seq check (the journal rows are inserted
#   only if the wallet UPDATE matched; a count other than 1 raises TechnicalError) and
#   ``save_round``'s "no new round without created_at".  A driver error of any part
#   (unique violation, check violation, lost connection) fails the one statement and is
#   mapped exactly as before (retry / Conflict / StoreUnavailable, ``tx.failed``).
# * The unit sees such an error at its next statement or when it returns, no longer at the
#   write call itself; the transaction is rolled back either way.  When a unit raises an
#   exception with writes still queued, they are sent first (they would have run before the
#   raise), so a driver error still takes precedence over the unit's exception.

_PARAM = re.compile(r"\$(\d+)")


class _Write:
    """A write that can be queued: its CTE parts (``{0}``, ``{1}`` name the parts, ``$1``...
    are its own parameters) and which part's row count must be 1 (and the error if not)."""

    __slots__ = ("check", "error", "name", "nparams", "parts", "tables")

    def __init__(
        self, name: str, tables: frozenset[str], parts: tuple[str, ...], *, check: int | None = None, error: str = ""
    ) -> None:
        self.name = name
        self.tables = tables
        self.parts = parts
        self.check = check
        self.error = error
        self.nparams = max(int(m) for part in parts for m in _PARAM.findall(part))


_W_SAVE_WALLET = _Write(
    "save_wallet",
    frozenset({"wallets", "journal", "journal_heads"}),
    (
        "{0} AS (UPDATE wallets SET real=$1, bonus=$2, reserved=$3, seq=$4, last_hash=$5, updated_at=$6"
        " WHERE account_id=$7 AND currency=$8 AND seq=$9 RETURNING 1)",
        # One row per entry (any number of entries, one statement text), only if the UPDATE matched.
        f"{{1}} AS (INSERT INTO journal ({cols.JOURNAL_COLS}, flow) SELECT e.* FROM {{0}},"
        " unnest($10::text[], $11::text[], $12::bigint[], $13::text[], $14::numeric[], $15::numeric[],"
        " $16::numeric[], $17::numeric[], $18::numeric[], $19::numeric[], $20::text[], $21::text[],"
        " $22::timestamptz[], $23::text[], $24::text[], $25::text[]) AS e)",
        # The chain head beside the wallet (audit: a rewind must edit both), same condition.
        "{2} AS (INSERT INTO journal_heads (account_id, currency, seq, hash)"
        " SELECT $7::text, $8::text, $4::bigint, $5::text FROM {0}"
        " ON CONFLICT (account_id, currency) DO UPDATE SET seq = excluded.seq, hash = excluded.hash)",
    ),
    check=0,
    error="wallet changed under the unit of work",
)
_W_ROUND_UPSERT = _Write(
    "round_upsert",
    frozenset({"rounds"}),
    (
        f"{{0}} AS (INSERT INTO rounds ({cols.ROUND_SAVE_COLS})"
        f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) {cols.ROUND_ON_CONFLICT})",
    ),
)
_W_ROUND_UPDATE = _Write(
    "round_update",
    frozenset({"rounds"}),
    (
        "{0} AS (UPDATE rounds SET real_bet=$1, bonus_bet=$2, real_win=$3, bonus_win=$4, wagers=$5, results=$6,"
        " closed_at=$7, status=$8 WHERE account_id=$9 AND game_id=$10 AND round_id=$11 RETURNING 1)",
    ),
    check=0,
    error="a new round without created_at",
)
_W_INSERT_TX = _Write(
    "insert_tx",
    frozenset({"transactions"}),
    (
        f"{{0}} AS (INSERT INTO transactions ({cols.TX_COLS})"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16))",
    ),
)
_W_TX_STATE = _Write(
    "tx_state",
    frozenset({"transactions"}),
    ("{0} AS (UPDATE transactions SET state=$1 WHERE operator_id=$2 AND scope=$3 AND kind=$4 AND transaction_id=$5)",),
)
_W_DROP_REFUSAL = _Write(
    "drop_refusal",
    frozenset({"transactions"}),
    (
        "{0} AS (DELETE FROM transactions WHERE operator_id=$1 AND scope=$2 AND kind=$3 AND transaction_id=$4"
        " AND state=$5 RETURNING 1)",
    ),
    check=0,
    error="the refusal to replace is no longer there",
)
_W_TOUCH_PLAYER = _Write(
    "touch_player",
    frozenset({"players"}),
    ("{0} AS (UPDATE players SET last_active=$1 WHERE account_id=$2)",),
)

# The statement for each sequence of queued writes (a handful of shapes in practice).
_COMBINED: dict[tuple[str, ...], tuple[str, tuple[int, ...]]] = {}


def _shift_params(sql: str, offset: int) -> str:

    def shift(m: re.Match[str]) -> str:
        return f"${int(m.group(1)) + offset}"

    return _PARAM.sub(shift, sql)


def _combined(writes: Sequence[_Write]) -> tuple[str, tuple[int, ...]]:
    """One statement for ``writes`` (in order), and the indexes into ``writes`` of the checked
    row counts it returns, in column order.  Constant text per sequence: one prepared
    statement each in asyncpg's per-connection cache."""
    key = tuple(w.name for w in writes)
    hit = _COMBINED.get(key)
    if hit is not None:
        return hit
    ctes: list[str] = []
    counts: list[str] = []
    checked: list[int] = []
    offset = 0
    for i, w in enumerate(writes):
        names = [f"w{i}_{k}" for k in range(len(w.parts))]
        for part in w.parts:
            ctes.append(_shift_params(part.format(*names), offset))
        if w.check is not None:
            counts.append(f"(SELECT count(*) FROM {names[w.check]})")
            checked.append(i)
        offset += w.nparams
    hit = ("WITH " + ", ".join(ctes) + " SELECT " + (", ".join(counts) if counts else "0"), tuple(checked))
    _COMBINED[key] = hit
    return hit
