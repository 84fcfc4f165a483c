"""The operator admin API (``/admin``, Bearer token): request bodies.  Money in is an exact
decimal (a JSON number parsed as Decimal, or a string); replies carry it as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from wallet_store import money
from wallet_store.model import SignatureScheme
from wallet_store.rate_limits import MAX_BURST_PERCENT, MAX_PER_MINUTE

from .common import AccountId, Body
from .common import CurrencyCode as Currency
from .common import EmailStr as Email


def _amount(v: object) -> Decimal:
    return money.coerce(v)


def _nonneg(v: object) -> Decimal:
    d = money.coerce(v)
    if d < 0:
        raise ValueError("must not be negative")
    return d


Amount = Annotated[Decimal, BeforeValidator(_amount)]
NonNeg = Annotated[Decimal, BeforeValidator(_nonneg)]
OperatorId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,20}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class OperatorIn(Body):
    operator_id: OperatorId
    name: Name
    currency: Currency
    debit_order: Literal["cash_money", "bonus_money"] = "cash_money"
    signature_secret: Annotated[str, StringConstraints(min_length=8, max_length=256)] | None = None
    signature_scheme: SignatureScheme = "concat"  # "pairs" recommended (docs/security.md)
    allowed_networks: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    start_real: NonNeg = money.ZERO
    start_bonus: NonNeg = money.ZERO


class SignatureIn(Body):
    """Both fields required: the new secret (``null``: no signature check) and its scheme."""

    signature_secret: Annotated[str, StringConstraints(min_length=8, max_length=256)] | None
    signature_scheme: SignatureScheme


class PlayerIn(Body):
    operator_id: OperatorId
    account_id: AccountId | None = None
    name: Name
    email: Email | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    currency: Currency | None = None
    real_balance: NonNeg | None = None
    bonus_balance: NonNeg | None = None


class AdjustIn(Body):
    currency: Currency
    real: Amount = money.ZERO
    bonus: Amount = money.ZERO
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class SessionIn(Body):
    account_id: AccountId
    game_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    currency: Currency | None = None
    ttl_seconds: int | None = Field(None, ge=1, le=30 * 86400)


class LimitsIn(Body):
    max_bet: NonNeg | None = None
    loss_day: NonNeg | None = None
    loss_week: NonNeg | None = None
    loss_month: NonNeg | None = None


class GameIn(Body):
    operator_id: OperatorId
    game_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
    name: Name


def _rate(v: object) -> Decimal | None:
    if v is None:
        return None
    d = money.coerce(v)
    if d <= 0:
        raise ValueError("must be greater than zero (or null for no rate)")
    return d


class CurrencyIn(Body):
    """Create or update one of an operator's currencies; omitted fields keep their value."""

    name: Name | None = None
    symbol: Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)] | None = None
    usd_rate: Annotated[Decimal | None, BeforeValidator(_rate)] = None  # USD value of one unit
    start_amount: NonNeg | None = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class IdentityIn(Body):
    identity: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z._:@-]{1,128}$")]
    account_id: AccountId


class FreeRoundsIn(Body):
    frbid: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    pays_into: Literal["real", "bonus"] = "real"


# rate limits of a game's REST calls (schema version 5; see ratelimit.py)
PerMinute = Annotated[int, Field(ge=1, le=MAX_PER_MINUTE, strict=True)]


class GameRateLimitsIn(Body):
    """Overrides replace the game's previous ones; a null or absent field is the default."""

    individual_per_min: PerMinute | None = None
    batch_per_min: PerMinute | None = None
    email_per_min: PerMinute | None = None
    write_per_min: PerMinute | None = None
    burst_percent: Annotated[int, Field(ge=0, le=MAX_BURST_PERCENT, strict=True)] | None = None
