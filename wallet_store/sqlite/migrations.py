"""Versioned SQLite schema.  Append new versions; never edit an applied one.

Money columns are TEXT in the order-preserving fixed-width form of
:func:`wallet_store.money.to_db`; timestamps are TEXT in :func:`wallet_store.model.iso` form.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE operators (
    operator_id      TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    currency         TEXT NOT NULL,
    debit_order      TEXT NOT NULL CHECK (debit_order IN ('cash_money', 'bonus_money')),
    signature_secret TEXT,
    allowed_networks TEXT NOT NULL DEFAULT '',
    start_real       TEXT NOT NULL,
    start_bonus      TEXT NOT NULL,
    created_at       TEXT NOT NULL
) STRICT;

CREATE TABLE players (
    account_id  TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(operator_id),
    name        TEXT NOT NULL,
    email       TEXT,
    email_norm  TEXT,
    country     TEXT NOT NULL,
    city        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'self_excluded')),
    created_at  TEXT NOT NULL,
    last_active TEXT
) STRICT;
CREATE UNIQUE INDEX players_email ON players(operator_id, email_norm) WHERE email_norm IS NOT NULL;

CREATE TABLE wallets (
    account_id TEXT NOT NULL REFERENCES players(account_id),
    currency   TEXT NOT NULL,
    real       TEXT NOT NULL CHECK (real >= '0'),
    bonus      TEXT NOT NULL CHECK (bonus >= '0'),
    reserved   TEXT NOT NULL CHECK (reserved >= '0'),
    seq        INTEGER NOT NULL,
    last_hash  TEXT NOT NULL,
    updated_at TEXT,
    PRIMARY KEY (account_id, currency)
) STRICT, WITHOUT ROWID;

CREATE TABLE journal (
    id             INTEGER PRIMARY KEY,
    account_id     TEXT NOT NULL,
    currency       TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    real_delta     TEXT NOT NULL,
    bonus_delta    TEXT NOT NULL,
    reserved_delta TEXT NOT NULL,
    real_after     TEXT NOT NULL,
    bonus_after    TEXT NOT NULL,
    reserved_after TEXT NOT NULL,
    reference      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    UNIQUE (account_id, currency, seq)
) STRICT;
CREATE INDEX journal_time ON journal(account_id, currency, created_at);

-- The journal is append-only: the store never updates or deletes a row.
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;

CREATE TABLE sessions (
    session_id  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES players(account_id),
    operator_id TEXT NOT NULL,
    currency    TEXT NOT NULL,
    game_id     TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    closed_at   TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE transactions (
    operator_id    TEXT NOT NULL,
    scope          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    round_id       TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    message        TEXT NOT NULL,
    wallet_tx      TEXT NOT NULL,
    real           TEXT NOT NULL,
    bonus          TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    extra          TEXT NOT NULL,
    PRIMARY KEY (operator_id, scope, kind, transaction_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE rounds (
    account_id TEXT NOT NULL,
    game_id    TEXT NOT NULL,
    round_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    real_bet   TEXT NOT NULL,
    bonus_bet  TEXT NOT NULL,
    real_win   TEXT NOT NULL,
    bonus_win  TEXT NOT NULL,
    wagers     INTEGER NOT NULL,
    results    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    closed_at  TEXT,
    PRIMARY KEY (account_id, game_id, round_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX rounds_open ON rounds(status, created_at);

CREATE TABLE limits (
    account_id TEXT PRIMARY KEY REFERENCES players(account_id),
    max_bet    TEXT,
    loss_day   TEXT,
    loss_week  TEXT,
    loss_month TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE free_rounds (
    frbid       TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES players(account_id),
    operator_id TEXT NOT NULL,
    pays_into   TEXT NOT NULL CHECK (pays_into IN ('real', 'bonus')),
    created_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE admin_ops (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    reply       TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
""",
    ),
    (
        2,
        """
CREATE TABLE games (
    game_id     TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(operator_id),
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX games_operator ON games(operator_id);
""",
    ),
    (
        3,
        """
-- Per-operator currencies with USD rates (and the rates' history), starting amounts.
CREATE TABLE currencies (
    operator_id  TEXT NOT NULL REFERENCES operators(operator_id),
    code         TEXT NOT NULL,
    currency_id  INTEGER NOT NULL CHECK (currency_id > 0),
    name         TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    usd_rate     TEXT CHECK (usd_rate > '0'),
    start_amount TEXT NOT NULL CHECK (start_amount >= '0'),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (operator_id, code),
    UNIQUE (operator_id, currency_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE currency_rates (
    id          INTEGER PRIMARY KEY,
    operator_id TEXT NOT NULL,
    code        TEXT NOT NULL,
    usd_rate    TEXT,
    set_at      TEXT NOT NULL,
    note        TEXT NOT NULL
) STRICT;
CREATE INDEX currency_rates_code ON currency_rates(operator_id, code, id);

-- External identities an operator registered for its players (private wallet API).
CREATE TABLE identities (
    operator_id TEXT NOT NULL REFERENCES operators(operator_id),
    identity    TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES players(account_id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (operator_id, identity)
) STRICT, WITHOUT ROWID;

-- Existing operators: their primary currency is id 1, other currencies their players hold
-- follow in code order; names and symbols are the code, no USD rate (set them by admin API).
INSERT INTO currencies (operator_id, code, currency_id, name, symbol, usd_rate, start_amount, created_at, updated_at)
SELECT operator_id, code, row_number() OVER (PARTITION BY operator_id ORDER BY is_other, code),
       code, code, NULL, '0000000000000000000000.0000000000', created_at, created_at
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
ALTER TABLE journal ADD COLUMN flow TEXT NOT NULL DEFAULT 'none' CHECK (flow IN ('credit', 'debit', 'none'));
DROP TRIGGER journal_no_update;
UPDATE journal SET flow = CASE
    WHEN substr(real_delta, 1, 1) = '-' OR substr(bonus_delta, 1, 1) = '-' THEN 'debit'
    WHEN real_delta > '0000000000000000000000.0000000000'
      OR bonus_delta > '0000000000000000000000.0000000000' THEN 'credit'
    ELSE 'none' END;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE INDEX journal_flow ON journal(account_id, currency, flow, created_at);
""",
    ),
    (
        4,
        """
-- Holds (reserved balances), transfers and currency sends, purchases, the SMS outbox and
-- players' phone numbers (wallet_store.flows).  A hold's real + bonus = amount: where the
-- reserved money came from.
CREATE TABLE holds (
    hold_id      TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES players(account_id),
    currency     TEXT NOT NULL,
    amount       TEXT NOT NULL CHECK (amount > '0000000000000000000000.0000000000'),
    real         TEXT NOT NULL CHECK (real >= '0'),
    bonus        TEXT NOT NULL CHECK (bonus >= '0'),
    reference    TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'captured', 'released')),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    closed_at    TEXT,
    close_reason TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX holds_due ON holds(expires_at) WHERE state = 'open';
CREATE INDEX holds_account_open ON holds(account_id, expires_at) WHERE state = 'open';

CREATE TABLE flows (
    flow_id         TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('transfer', 'send')),
    operator_id     TEXT NOT NULL REFERENCES operators(operator_id),
    game_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    source_account  TEXT NOT NULL REFERENCES players(account_id),
    target_account  TEXT REFERENCES players(account_id),
    target_email    TEXT,
    currency        TEXT NOT NULL,
    amount          TEXT NOT NULL CHECK (amount > '0000000000000000000000.0000000000'),
    hold_id         TEXT NOT NULL REFERENCES holds(hold_id),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'claimed', 'cancelled', 'expired')),
    code_hash       TEXT NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    phone_hint      TEXT NOT NULL,
    note            TEXT NOT NULL,
    closed_reason   TEXT NOT NULL,
    steps           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (game_id, kind, idempotency_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE payments (
    payment_id      TEXT PRIMARY KEY,
    operator_id     TEXT NOT NULL REFERENCES operators(operator_id),
    game_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES players(account_id),
    currency        TEXT NOT NULL,
    usd_amount      TEXT NOT NULL,
    usd_rate        TEXT NOT NULL,
    amount          TEXT NOT NULL,
    provider        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('processing', 'requires_action', 'succeeded', 'declined')),
    provider_ref    TEXT NOT NULL,
    client_secret   TEXT,
    message         TEXT NOT NULL,
    result          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (game_id, idempotency_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE item_purchases (
    purchase_id     TEXT PRIMARY KEY,
    operator_id     TEXT NOT NULL REFERENCES operators(operator_id),
    game_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES players(account_id),
    currency        TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    item_name       TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit_price      TEXT NOT NULL,
    total           TEXT NOT NULL,
    real            TEXT NOT NULL,
    bonus           TEXT NOT NULL,
    result          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (game_id, idempotency_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE sms_outbox (
    id         INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    phone      TEXT NOT NULL,
    body       TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('outbox', 'queued', 'sent', 'failed')),
    created_at TEXT NOT NULL,
    sent_at    TEXT
) STRICT;
CREATE INDEX sms_outbox_account ON sms_outbox(account_id, id);

CREATE TABLE player_phones (
    account_id TEXT PRIMARY KEY REFERENCES players(account_id),
    phone      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
""",
    ),
    (
        5,
        """
-- Per-game rate-limit overrides of the REST faces (NULL: the service default).
CREATE TABLE game_rate_limits (
    game_id            TEXT PRIMARY KEY REFERENCES games(game_id),
    individual_per_min INTEGER CHECK (individual_per_min BETWEEN 1 AND 1000000),
    batch_per_min      INTEGER CHECK (batch_per_min BETWEEN 1 AND 1000000),
    email_per_min      INTEGER CHECK (email_per_min BETWEEN 1 AND 1000000),
    write_per_min      INTEGER CHECK (write_per_min BETWEEN 1 AND 1000000),
    burst_percent      INTEGER CHECK (burst_percent BETWEEN 0 AND 1000),
    updated_at         TEXT NOT NULL
) STRICT, WITHOUT ROWID;
""",
    ),
    (
        6,
        """
-- The chain head of every wallet, written in the same transaction as each journal entry
-- (wallet_store.audit): rewinding a wallet's journal needs this table rewound too.  It only
-- moves forward and is never deleted from.  Backfilled from the wallets.
CREATE TABLE journal_heads (
    account_id TEXT NOT NULL,
    currency   TEXT NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    hash       TEXT NOT NULL,
    PRIMARY KEY (account_id, currency)
) STRICT, WITHOUT ROWID;
INSERT INTO journal_heads (account_id, currency, seq, hash)
    SELECT account_id, currency, seq, last_hash FROM wallets WHERE seq > 0;
CREATE TRIGGER journal_heads_forward BEFORE UPDATE ON journal_heads WHEN NEW.seq <= OLD.seq
BEGIN SELECT RAISE(ABORT, 'a journal head only moves forward'); END;
CREATE TRIGGER journal_heads_no_delete BEFORE DELETE ON journal_heads
BEGIN SELECT RAISE(ABORT, 'a journal head only moves forward'); END;
""",
    ),
    (
        7,
        """
-- How an operator's X-Groove-Signature is computed: 'concat' (Groove's values-only
-- concatenation, the compatibility default) or 'pairs' (name=value pairs, unambiguous).
ALTER TABLE operators ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT 'concat'
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
    operator_id     TEXT PRIMARY KEY REFERENCES operators(operator_id),
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT,
    games           TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT, WITHOUT ROWID;
""",
    ),
]
