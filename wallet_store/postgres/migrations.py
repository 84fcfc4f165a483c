"""Versioned PostgreSQL schema.  Append new versions; never edit an applied one.

Same tables, columns and keys as :mod:`wallet_store.sqlite.migrations`, with native types:
money is ``numeric(32,10)`` (exact), timestamps are ``timestamptz``, counters ``bigint``.

Identifier columns (everything the store orders by or keys on) use ``COLLATE "C"``: SQLite
compares TEXT byte-wise, and the streams (:meth:`PostgresStore.journal` and friends) must
come out in the same order whatever the database's default collation is (``en_US`` would
sort ``a`` before ``B``; byte order puts ``B`` first).

:func:`migrate` applies pending versions in one transaction holding a transaction-scoped
advisory lock, so two processes starting at once apply each version exactly once.
"""

from __future__ import annotations

from typing import Any

# pg_advisory_xact_lock(int4, int4): a fixed class id ("gw") and the hash of the schema name.
MIGRATION_LOCK_CLASS = 0x6777

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE operators (
    operator_id      text COLLATE "C" PRIMARY KEY,
    name             text NOT NULL,
    currency         text COLLATE "C" NOT NULL,
    debit_order      text NOT NULL CHECK (debit_order IN ('cash_money', 'bonus_money')),
    signature_secret text,
    allowed_networks text[] NOT NULL DEFAULT '{}',
    start_real       numeric(32,10) NOT NULL,
    start_bonus      numeric(32,10) NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE players (
    account_id  text COLLATE "C" PRIMARY KEY,
    operator_id text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    name        text NOT NULL,
    email       text,
    email_norm  text COLLATE "C",
    country     text NOT NULL,
    city        text NOT NULL,
    currency    text COLLATE "C" NOT NULL,
    status      text NOT NULL CHECK (status IN ('active', 'blocked', 'self_excluded')),
    created_at  timestamptz NOT NULL,
    last_active timestamptz
);
CREATE UNIQUE INDEX players_email ON players(operator_id, email_norm) WHERE email_norm IS NOT NULL;

CREATE TABLE wallets (
    account_id text COLLATE "C" NOT NULL REFERENCES players(account_id),
    currency   text COLLATE "C" NOT NULL,
    real       numeric(32,10) NOT NULL CHECK (real >= 0),
    bonus      numeric(32,10) NOT NULL CHECK (bonus >= 0),
    reserved   numeric(32,10) NOT NULL CHECK (reserved >= 0),
    seq        bigint NOT NULL,
    last_hash  text NOT NULL,
    updated_at timestamptz,
    PRIMARY KEY (account_id, currency)
);

CREATE TABLE journal (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     text COLLATE "C" NOT NULL,
    currency       text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,
    kind           text NOT NULL,
    real_delta     numeric(32,10) NOT NULL,
    bonus_delta    numeric(32,10) NOT NULL,
    reserved_delta numeric(32,10) NOT NULL,
    real_after     numeric(32,10) NOT NULL,
    bonus_after    numeric(32,10) NOT NULL,
    reserved_after numeric(32,10) NOT NULL,
    reference      text NOT NULL,
    reason         text NOT NULL,
    created_at     timestamptz NOT NULL,
    prev_hash      text NOT NULL,
    hash           text NOT NULL,
    UNIQUE (account_id, currency, seq)
);
CREATE INDEX journal_time ON journal(account_id, currency, created_at);

-- The journal is append-only: the store never updates, deletes or truncates it.
-- restrict_violation (23001) is an integrity violation, as SQLite's RAISE(ABORT) is.
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal is append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

CREATE TABLE sessions (
    session_id  text COLLATE "C" PRIMARY KEY,
    account_id  text COLLATE "C" NOT NULL REFERENCES players(account_id),
    operator_id text COLLATE "C" NOT NULL,
    currency    text COLLATE "C" NOT NULL,
    game_id     text COLLATE "C",
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    closed_at   timestamptz
);

CREATE TABLE transactions (
    operator_id    text COLLATE "C" NOT NULL,
    scope          text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    transaction_id text COLLATE "C" NOT NULL,
    account_id     text COLLATE "C" NOT NULL,
    round_id       text COLLATE "C" NOT NULL,
    amount         numeric(32,10) NOT NULL,
    currency       text COLLATE "C" NOT NULL,
    outcome        text NOT NULL,
    message        text NOT NULL,
    wallet_tx      text NOT NULL,
    real           numeric(32,10) NOT NULL,
    bonus          numeric(32,10) NOT NULL,
    state          text NOT NULL,
    created_at     timestamptz NOT NULL,
    extra          text NOT NULL,
    PRIMARY KEY (operator_id, scope, kind, transaction_id)
);

CREATE TABLE rounds (
    account_id text COLLATE "C" NOT NULL,
    game_id    text COLLATE "C" NOT NULL,
    round_id   text COLLATE "C" NOT NULL,
    currency   text COLLATE "C" NOT NULL,
    status     text NOT NULL CHECK (status IN ('open', 'closed')),
    real_bet   numeric(32,10) NOT NULL,
    bonus_bet  numeric(32,10) NOT NULL,
    real_win   numeric(32,10) NOT NULL,
    bonus_win  numeric(32,10) NOT NULL,
    wagers     bigint NOT NULL,
    results    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    closed_at  timestamptz,
    PRIMARY KEY (account_id, game_id, round_id)
);
CREATE INDEX rounds_open ON rounds(status, created_at);

CREATE TABLE limits (
    account_id text COLLATE "C" PRIMARY KEY REFERENCES players(account_id),
    max_bet    numeric(32,10),
    loss_day   numeric(32,10),
    loss_week  numeric(32,10),
    loss_month numeric(32,10)
);

CREATE TABLE free_rounds (
    frbid       text COLLATE "C" PRIMARY KEY,
    account_id  text COLLATE "C" NOT NULL REFERENCES players(account_id),
    operator_id text COLLATE "C" NOT NULL,
    pays_into   text NOT NULL CHECK (pays_into IN ('real', 'bonus')),
    created_at  timestamptz NOT NULL
);

CREATE TABLE admin_ops (
    key         text COLLATE "C" PRIMARY KEY,
    fingerprint text NOT NULL,
    reply       text NOT NULL,
    created_at  timestamptz NOT NULL
);
""",
    ),
    (
        2,
        """
CREATE TABLE games (
    game_id     text COLLATE "C" PRIMARY KEY,
    operator_id text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    name        text NOT NULL,
    key_hash    text COLLATE "C" NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);
CREATE INDEX games_operator ON games(operator_id);
""",
    ),
]


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


async def migrate(conn: Any, schema: str | None = None) -> int:
    """Create ``schema`` if given and missing, apply pending migrations; return the version.

    ``conn`` is an asyncpg connection whose ``search_path`` already starts with ``schema``
    (the store sets it for every pooled connection).  Everything happens in one transaction
    under ``pg_advisory_xact_lock``: a second process blocks until the first commits, then
    sees the versions already applied and does nothing.  PostgreSQL DDL is transactional,
    so a failed migration leaves no half-built schema behind.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            MIGRATION_LOCK_CLASS,
            schema if schema is not None else "",
        )
        if schema is not None:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch("SELECT version FROM schema_migrations")
        done = {int(r[0]) for r in rows}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)  # no arguments: simple protocol, several statements allowed
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            done.add(version)
        return max(done, default=0)
