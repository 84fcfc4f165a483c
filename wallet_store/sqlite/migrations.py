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
]
