"""Per-operator currencies: registration, USD rates with history, value and conversion rules.

Pure of HTTP and drivers: functions over a :class:`~wallet_store.ports.Tx` and plain values
(the value and conversion rules themselves are in :mod:`wallet_store.domain.balances`).

* Every operator offers a list of currencies (schema version 3).  Its primary currency is
  registered with the operator (id 1); a player created in another currency registers it
  too (next id).  Names, symbols, USD rates and starting amounts are set by the admin API.
* ``usd_rate`` is the USD value of **one unit**.  Every change of it is kept in the rate
  history with its time and a note, so a past valuation can be explained.
* USD values and conversions round **down** to the 1e-10 quantum: the wallet never reports
  or credits more value than it holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from . import money
from .domain.balances import convert, usd_value
from .errors import Invalid, NotFound
from .model import Currency, RateChange
from .ports import Tx

MAX_CURRENCIES_PER_OPERATOR = 50
__all__ = ["MAX_CURRENCIES_PER_OPERATOR", "convert", "ensure_currency", "set_currency", "usd_value"]


async def _new_currency(tx: Tx, operator_id: str, code: str, now: datetime) -> Currency:
    """Defaults for a currency the operator does not offer yet (next id); not saved."""
    existing = await tx.list_currencies(operator_id)
    if len(existing) >= MAX_CURRENCIES_PER_OPERATOR:
        raise Invalid(f"an operator offers at most {MAX_CURRENCIES_PER_OPERATOR} currencies")
    return Currency(
        operator_id=operator_id,
        code=code,
        currency_id=max((c.currency_id for c in existing), default=0) + 1,
        name=code,
        symbol=code,
        usd_rate=None,
        start_amount=money.ZERO,
        created_at=now,
        updated_at=now,
    )


async def ensure_currency(tx: Tx, operator_id: str, code: str, now: datetime) -> Currency:
    """The operator's currency ``code``, registered with defaults (next id) if missing."""
    found = await tx.get_currency(operator_id, code)
    if found is not None:
        return found
    cur = await _new_currency(tx, operator_id, code, now)
    await tx.save_currency(cur)
    return cur


async def set_currency(
    tx: Tx,
    *,
    operator_id: str,
    code: str,
    name: str | None,
    symbol: str | None,
    usd_rate: Decimal | None,
    rate_given: bool,
    start_amount: Decimal | None,
    note: str,
    now: datetime,
) -> tuple[Currency, bool]:
    """Create or update a currency; returns (currency, created).  Rate changes are recorded."""
    if await tx.get_operator(operator_id) is None:
        raise NotFound(f"operator {operator_id} not found")
    if usd_rate is not None and usd_rate <= 0:
        raise Invalid("usd_rate must be greater than zero")
    old = await tx.get_currency(operator_id, code)
    created = old is None
    base = old if old is not None else await _new_currency(tx, operator_id, code, now)  # one write below
    cur = replace(
        base,
        name=name if name is not None else base.name,
        symbol=symbol if symbol is not None else base.symbol,
        usd_rate=usd_rate if rate_given else base.usd_rate,
        start_amount=start_amount if start_amount is not None else base.start_amount,
        updated_at=now,
    )
    await tx.save_currency(cur)
    if (created and cur.usd_rate is not None) or (old is not None and cur.usd_rate != old.usd_rate):
        await tx.insert_rate_change(RateChange(operator_id, code, cur.usd_rate, now, note))
    return cur, created
