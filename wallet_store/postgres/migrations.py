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
    (
        3,
        """
CREATE TABLE currencies (
    operator_id  text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    code         text COLLATE "C" NOT NULL,
    currency_id  integer NOT NULL CHECK (currency_id > 0),
    name         text NOT NULL,
    symbol       text NOT NULL,
    usd_rate     numeric(32, 10) CHECK (usd_rate > 0),
    start_amount numeric(32, 10) NOT NULL CHECK (start_amount >= 0),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (operator_id, code),
    UNIQUE (operator_id, currency_id)
);

CREATE TABLE currency_rates (
    id          bigserial PRIMARY KEY,
    operator_id text COLLATE "C" NOT NULL,
    code        text COLLATE "C" NOT NULL,
    usd_rate    numeric(32, 10),
    set_at      timestamptz NOT NULL,
    note        text NOT NULL
);
CREATE INDEX currency_rates_code ON currency_rates(operator_id, code, id);

CREATE TABLE identities (
    operator_id text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    identity    text COLLATE "C" NOT NULL,
    account_id  text COLLATE "C" NOT NULL REFERENCES players(account_id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (operator_id, identity)
);

-- Existing operators: their primary currency is id 1, other currencies their players hold
-- follow in code order; names and symbols are the code, no USD rate (set them by admin API).
INSERT INTO currencies (operator_id, code, currency_id, name, symbol, usd_rate, start_amount, created_at, updated_at)
SELECT operator_id, code, row_number() OVER (PARTITION BY operator_id ORDER BY is_other, code),
       code, code, NULL, 0, created_at, created_at
FROM (
    SELECT o.operator_id, o.currency AS code, 0 AS is_other, o.created_at FROM operators o
    UNION
    SELECT p.operator_id, w.currency, 1, o.created_at
    FROM wallets w
    JOIN players p ON p.account_id = w.account_id
    JOIN operators o ON o.operator_id = p.operator_id
    WHERE w.currency <> o.currency
) AS held;

-- Direction of the available balance (real + bonus) of each entry, for history filters.
-- Not part of the entry's hash: it is derived from the hashed deltas (audit re-derives it).
ALTER TABLE journal ADD COLUMN flow text NOT NULL DEFAULT 'none' CHECK (flow IN ('credit', 'debit', 'none'));
ALTER TABLE journal DISABLE TRIGGER journal_no_update;
UPDATE journal SET flow = CASE
    WHEN real_delta + bonus_delta < 0 THEN 'debit'
    WHEN real_delta + bonus_delta > 0 THEN 'credit'
    ELSE 'none' END;
ALTER TABLE journal ENABLE TRIGGER journal_no_update;
CREATE INDEX journal_flow ON journal(account_id, currency, flow, created_at);
""",
    ),
    (
        4,
        """
-- Holds (reserved balances), transfers and currency sends, purchases, the SMS outbox and
-- players' phone numbers (wallet_store.flows).
CREATE TABLE holds (
    hold_id      text COLLATE "C" PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL REFERENCES players(account_id),
    currency     text COLLATE "C" NOT NULL,
    amount       numeric(32,10) NOT NULL CHECK (amount > 0),
    real         numeric(32,10) NOT NULL CHECK (real >= 0),
    bonus        numeric(32,10) NOT NULL CHECK (bonus >= 0),
    reference    text COLLATE "C" NOT NULL,
    state        text NOT NULL CHECK (state IN ('open', 'captured', 'released')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    closed_at    timestamptz,
    close_reason text NOT NULL
);
CREATE INDEX holds_due ON holds(expires_at) WHERE state = 'open';
CREATE INDEX holds_account_open ON holds(account_id, expires_at) WHERE state = 'open';

CREATE TABLE flows (
    flow_id         text COLLATE "C" PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('transfer', 'send')),
    operator_id     text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    game_id         text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    fingerprint     text NOT NULL,
    source_account  text COLLATE "C" NOT NULL REFERENCES players(account_id),
    target_account  text COLLATE "C" REFERENCES players(account_id),
    target_email    text COLLATE "C",
    currency        text COLLATE "C" NOT NULL,
    amount          numeric(32,10) NOT NULL CHECK (amount > 0),
    hold_id         text COLLATE "C" NOT NULL REFERENCES holds(hold_id),
    state           text NOT NULL CHECK (state IN ('pending', 'verified', 'claimed', 'cancelled', 'expired')),
    code_hash       text NOT NULL,
    attempts        integer NOT NULL CHECK (attempts >= 0),
    phone_hint      text NOT NULL,
    note            text NOT NULL,
    closed_reason   text NOT NULL,
    steps           text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (game_id, kind, idempotency_key)
);

CREATE TABLE payments (
    payment_id      text COLLATE "C" PRIMARY KEY,
    operator_id     text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    game_id         text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    fingerprint     text NOT NULL,
    account_id      text COLLATE "C" NOT NULL REFERENCES players(account_id),
    currency        text COLLATE "C" NOT NULL,
    usd_amount      numeric(32,10) NOT NULL,
    usd_rate        numeric(32,10) NOT NULL,
    amount          numeric(32,10) NOT NULL,
    provider        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('processing', 'requires_action', 'succeeded', 'declined')),
    provider_ref    text NOT NULL,
    client_secret   text,
    message         text NOT NULL,
    result          text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (game_id, idempotency_key)
);

CREATE TABLE item_purchases (
    purchase_id     text COLLATE "C" PRIMARY KEY,
    operator_id     text COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    game_id         text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    fingerprint     text NOT NULL,
    account_id      text COLLATE "C" NOT NULL REFERENCES players(account_id),
    currency        text COLLATE "C" NOT NULL,
    item_id         text NOT NULL,
    item_name       text NOT NULL,
    quantity        integer NOT NULL CHECK (quantity > 0),
    unit_price      numeric(32,10) NOT NULL,
    total           numeric(32,10) NOT NULL,
    real            numeric(32,10) NOT NULL,
    bonus           numeric(32,10) NOT NULL,
    result          text NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (game_id, idempotency_key)
);

CREATE TABLE sms_outbox (
    id         bigserial PRIMARY KEY,
    message_id text COLLATE "C" NOT NULL UNIQUE,
    account_id text COLLATE "C" NOT NULL,
    phone      text NOT NULL,
    body       text NOT NULL,
    purpose    text NOT NULL,
    state      text NOT NULL CHECK (state IN ('outbox', 'queued', 'sent', 'failed')),
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);
CREATE INDEX sms_outbox_account ON sms_outbox(account_id, id);

CREATE TABLE player_phones (
    account_id text COLLATE "C" PRIMARY KEY REFERENCES players(account_id),
    phone      text NOT NULL,
    updated_at timestamptz NOT NULL
);
""",
    ),
    (
        5,
        """
-- Per-game rate-limit overrides of the REST faces (NULL: the service default).
CREATE TABLE game_rate_limits (
    game_id            text COLLATE "C" PRIMARY KEY REFERENCES games(game_id),
    individual_per_min integer CHECK (individual_per_min BETWEEN 1 AND 1000000),
    batch_per_min      integer CHECK (batch_per_min BETWEEN 1 AND 1000000),
    email_per_min      integer CHECK (email_per_min BETWEEN 1 AND 1000000),
    write_per_min      integer CHECK (write_per_min BETWEEN 1 AND 1000000),
    burst_percent      integer CHECK (burst_percent BETWEEN 0 AND 1000),
    updated_at         timestamptz NOT NULL
);
""",
    ),
    (
        6,
        """
-- The chain head of every wallet, written in the same statement as each journal entry
-- (wallet_store.audit): rewinding a wallet's journal needs this table rewound too.  It only
-- moves forward and is never deleted from.  Backfilled from the wallets.
CREATE TABLE journal_heads (
    account_id text COLLATE "C" NOT NULL,
    currency   text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL CHECK (seq > 0),
    hash       text NOT NULL,
    PRIMARY KEY (account_id, currency)
);
INSERT INTO journal_heads (account_id, currency, seq, hash)
    SELECT account_id, currency, seq, last_hash FROM wallets WHERE seq > 0;
CREATE FUNCTION journal_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a journal head only moves forward' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER journal_heads_forward BEFORE UPDATE ON journal_heads
    FOR EACH ROW WHEN (NEW.seq <= OLD.seq) EXECUTE FUNCTION journal_heads_forward_only();
CREATE TRIGGER journal_heads_no_delete BEFORE DELETE ON journal_heads
    FOR EACH ROW EXECUTE FUNCTION journal_heads_forward_only();
CREATE TRIGGER journal_heads_no_truncate BEFORE TRUNCATE ON journal_heads
    FOR EACH STATEMENT EXECUTE FUNCTION journal_heads_forward_only();
""",
    ),
    (
        7,
        """
-- How an operator's X-Groove-Signature is computed: 'concat' (Groove's values-only
-- concatenation, the compatibility default) or 'pairs' (name=value pairs, unambiguous).
ALTER TABLE operators ADD COLUMN signature_scheme text NOT NULL DEFAULT 'concat'
    CHECK (signature_scheme IN ('concat', 'pairs'));
""",
    ),
    (
        8,
        """
-- Per-operator Hub88 settings (issue 18): Hub88's public key (PEM) verifies X-Hub88-Signature;
-- the operator's own private key (PEM, optional) signs replies; games is a JSON array of the
-- allowed game codes ([]: every game).
CREATE TABLE hub88_operators (
    operator_id     text COLLATE "C" PRIMARY KEY REFERENCES operators(operator_id),
    enabled         smallint NOT NULL CHECK (enabled IN (0, 1)),
    public_key_pem  text NOT NULL,
    private_key_pem text,
    games           text NOT NULL,
    updated_at      timestamptz NOT NULL
);
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
