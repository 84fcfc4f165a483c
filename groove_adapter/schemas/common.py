"""Field types shared by the REST faces' bodies and replies, with their JSON Schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from typing_extensions import TypedDict

from wallet_store import money
from wallet_store.model import Currency

MONEY_S: dict[str, Any] = {"type": "string", "description": "exact decimal string, at least 2 places"}
MONEY_N: dict[str, Any] = {"type": "number", "description": "exact decimal number (never rounded through float)"}


def _positive(v: object) -> Decimal:
    d = money.coerce(v)
    if d <= 0:
        raise ValueError("must be greater than zero")
    return d


# An amount in: a JSON number or a decimal string, parsed exactly (jsonout.loads gives a
# Decimal for a number, never a float), greater than zero.
Positive = Annotated[Decimal, BeforeValidator(_positive), WithJsonSchema({"oneOf": [MONEY_S, MONEY_N]})]
PositiveNumber = Annotated[Decimal, BeforeValidator(_positive), WithJsonSchema(MONEY_N)]  # documented as a number
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,60}$")]
# An e-mail address: no NUL (PostgreSQL cannot store it; it was a 503 there).
EMAIL_PATTERN = r"[^@\s\x00]{1,64}@[^@\s\x00]{1,255}\.[^@\s\x00]{1,63}"
EmailStr = Annotated[str, StringConstraints(pattern=f"^{EMAIL_PATTERN}$", max_length=320)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{2,9}$")]
Reason = Annotated[str, StringConstraints(max_length=500)]
IdemKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]

# Replies: money as an exact decimal string (Player Balance API) or exact JSON number (private API).
MoneyStr = Annotated[str, WithJsonSchema(MONEY_S)]
MoneyNum = Annotated[Decimal, WithJsonSchema(MONEY_N)]


class Body(BaseModel):
    """A request body: unknown fields are refused, the parsed value is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CurrencyFields(TypedDict):
    currency_id: Annotated[int | None, Field(description="the operator's numeric currency id")]
    currency_code: str
    currency_name: str
    currency_symbol: str


def currency_fields(code: str, cur: Currency | None) -> CurrencyFields:
    """``currency_id`` / name / symbol of the operator's currency (the code when unregistered)."""
    if cur is None:  # not registered with the operator (every write path registers it)
        return {"currency_id": None, "currency_code": code, "currency_name": code, "currency_symbol": code}
    return {
        "currency_id": cur.currency_id,
        "currency_code": cur.code,
        "currency_name": cur.name,
        "currency_symbol": cur.symbol,
    }


class PbError(TypedDict):
    """The Player Balance API's error reply."""

    error: str
    kind: str
    status: int


class PwError(TypedDict):
    """The private wallet API's error reply."""

    error: bool
    message: str
