"""The row-mapping layer shared by the SQL stores (no database): for each backend's codec,
``model -> parameters -> row -> model`` is the identity, and every parameter tuple has one
value per column of the list it is written with (a column added to one side only fails here)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from wallet_store import model
from wallet_store.postgres import codec as pg
from wallet_store.rate_limits import GameRateLimits
from wallet_store.sql import rows as cols
from wallet_store.sqlite import tx as lite

NOW = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
BACKENDS = {"sqlite": lite, "postgres": pg}
# model class -> (its column list, its encoder's name in Params, its mapper's name in Rows)
CASES: dict[type, tuple[str, str, str]] = {
    model.Operator: (cols.OPERATOR_COLS, "operator", "operator"),
    model.Player: (cols.PLAYER_COLS, "player", "player"),
    model.Wallet: (cols.WALLET_COLS, "wallet", "wallet"),
    model.JournalEntry: (cols.JOURNAL_COLS, "journal", "journal"),
    model.GameSession: (cols.SESSION_COLS, "session", "session"),
    model.Currency: (cols.CURRENCY_COLS, "currency", "currency"),
    model.RateChange: (cols.RATE_CHANGE_COLS, "rate_change", "rate_change"),
    model.Limits: (cols.LIMITS_COLS, "limits", "limits"),
    GameRateLimits: (cols.GAME_LIMIT_COLS, "game_limits", "game_limits"),
    model.Hold: (cols.HOLD_COLS, "hold", "hold"),
    model.Flow: (cols.FLOW_COLS, "flow", "flow"),
    model.Payment: (cols.PAYMENT_COLS, "payment", "payment"),
    model.ItemPurchase: (cols.ITEM_COLS, "item_purchase", "item_purchase"),
    model.SmsMessage: (cols.SMS_COLS, "sms", "sms"),
}
# what the store writes after the columns of the list (checked, then left out of the row)
TRAILING = {"player": 1, "journal": 1}


def sample(cls: type, *, nulls: bool = False) -> Any:
    """An instance with a distinct value in every field (``None`` in the nullable ones if ``nulls``)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for i, f in enumerate(fields(cls)):
        hint = str(hints[f.name])
        if nulls and "None" in hint:
            values[f.name] = None
        elif "Decimal" in hint:
            values[f.name] = Decimal(f"-{i}.0625") if i % 2 else Decimal(f"{i}.5")
        elif "datetime" in hint:
            values[f.name] = NOW + timedelta(seconds=i)
        elif "tuple" in hint:
            values[f.name] = ("10.0.0.0/8", "::1/128")
        elif hints[f.name] is int or hint == "int | None":
            values[f.name] = i + 1
        else:
            values[f.name] = f"{f.name}-{i}"
    if cls is model.Operator:
        values["signature_scheme"] = "pairs"
    return cls(**values)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
def test_params_then_row_is_the_identity(backend: str, cls: type, nulls: bool) -> None:
    store = BACKENDS[backend]
    columns, encoder, mapper = CASES[cls]
    m = sample(cls, nulls=nulls)
    if cls is model.Wallet and nulls:
        m = replace(m, seq=0)
    encode: Callable[[Any], tuple[Any, ...]] = getattr(store.PARAMS, encoder)
    values = encode(m)
    n = len(columns.split(", "))
    assert len(values) == n + TRAILING.get(encoder, 0)
    assert getattr(store.ROWS, mapper)(values[:n]) == m


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_tx_and_round_rows(backend: str) -> None:
    store = BACKENDS[backend]
    t = sample(model.TxRecord)
    values = store.PARAMS.tx(t, store.CODEC.ts_out(t.created_at))
    assert len(values) == len(cols.TX_COLS.split(", "))
    assert store.ROWS.tx(values) == t
    rnd = sample(model.Round)
    saved = dict(
        zip(
            cols.ROUND_SAVE_COLS.split(", "),
            (*store.PARAMS.round_values(rnd), rnd.currency, store.CODEC.ts_out(rnd.created_at)),
            strict=True,
        )
    )
    assert store.ROWS.round([saved[c] for c in cols.ROUND_COLS.split(", ")]) == rnd


def test_the_codecs_store_what_the_schemas_hold() -> None:
    amount = Decimal("-12.5")
    assert lite.CODEC.money_out(amount) == "-9999999999999999999987.4999999999"  # order-preserving complement
    assert pg.CODEC.money_out(amount) == Decimal("-12.5000000000")
    assert lite.CODEC.ts_out(NOW) == "2026-01-15T12:00:00.123456Z"
    assert pg.CODEC.ts_out(NOW) == NOW
    networks = ("10.0.0.0/8", "::1/128")
    assert lite.CODEC.networks_out(networks) == "10.0.0.0/8,::1/128"
    assert pg.CODEC.networks_out(networks) == ["10.0.0.0/8", "::1/128"]
    assert lite.CODEC.networks_in("") == () == pg.CODEC.networks_in([])
