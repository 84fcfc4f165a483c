"""The Hub88 wallet wire: request and reply models of the five endpoints, and parsing a raw body.

Field names, types and requiredness follow ``shared/reference/hub88-wallet-api.md`` sections
4-6: only what the logic needs is required (bet: ``user``, ``transaction_uuid``, ``token``,
``request_uuid``, ``currency``, ``amount`` and ``game_code`` or the legacy ``game_id``; a win the
same plus ``reference_transaction_uuid``; a rollback ``user``, ``transaction_uuid``,
``request_uuid``, ``reference_transaction_uuid``); everything else may be absent or ``null``, and
fields we do not know are ignored (Hub88 adds optional fields over time).

Parsing is strict and bounded before anything is built: the body through
:func:`groove_adapter.jsonout.loads` (depth and number size bounded, no float ever), every
string to at most :data:`MAX_ID` characters without control characters, every amount a real
JSON integer in ``0 .. 2**63-1``.  A refusal says which status the reply carries:

- ``RS_ERROR_WRONG_SYNTAX``: not JSON, not an object, a required field missing, a string out of
  its bounds (empty, too long, control characters, a currency that is not a code);
- ``RS_ERROR_WRONG_TYPES``: a field of the wrong JSON type (``"100"``, ``100.0``, ``true`` as an
  amount, a number as a string field), a negative amount or one beyond Int64.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from wallet_store.domain.hub88 import INT64_MAX, Status, from_units, to_units

from ..jsonout import JsonLimitError, loads

MAX_ID: Final = 255  # token: Hub88's game/url allows at most 255; the same bound for every id
MAX_TEXT: Final = 1000  # free text (``bet``)

Text = Annotated[str, StringConstraints(pattern=rf"^[^\x00-\x1f\x7f]{{1,{MAX_ID}}}$")]
FreeText = Annotated[str, StringConstraints(pattern=rf"^[^\x00-\x1f\x7f]{{0,{MAX_TEXT}}}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{1,9}$")]
Units = Annotated[int, Field(ge=0, le=INT64_MAX)]

# Pydantic error types that mean "the body does not have the expected form"; every other
# validation error is a value of the wrong type (or a negative / out-of-range amount).
# (a string that does not match its pattern is out of its bounds: syntax).
_SYNTAX_ERRORS: Final = frozenset(
    {"missing", "missing_game", "string_too_short", "string_too_long", "string_pattern_mismatch"}
)


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    request_uuid: Text


class UserInfoIn(_In):
    """``POST /user/info``: profile data of ``user``; no token, no money."""

    user: Text


class BalanceIn(_In):
    """``POST /user/balance``: ``user`` may be absent (resolve the player from the token then)."""

    token: Text
    user: Text | None = None
    game_code: Text | None = None  # for statistics only
    game_id: int | None = None  # legacy numeric id; ignored


class _Money(_In):
    KIND: ClassVar[str]
    GAME_REQUIRED: ClassVar[bool] = True

    user: Text
    transaction_uuid: Text
    supplier_transaction_id: Text | None = None
    round: Text | None = None
    round_closed: bool | None = None
    game_code: Text | None = None
    game_id: int | None = None
    meta: dict[str, Any] | None = None

    @property
    def game(self) -> str:
        """The game: ``game_code``, else the legacy numeric ``game_id`` as text."""
        return self.game_code if self.game_code is not None else str(self.game_id)

    @model_validator(mode="after")
    def _a_game(self) -> _Money:
        if self.game_code is None and self.game_id is None and self.GAME_REQUIRED:
            raise PydanticCustomError("missing_game", "game_code (or the legacy game_id) is required")
        return self

    def details(self) -> dict[str, object]:
        """What must be equal for a request with the same ``transaction_uuid`` to be a replay."""
        return {"kind": self.KIND, "user": self.user, "round": self.round, "game": self.game}


class BetIn(_Money):
    """``POST /transaction/bet``: debit ``amount`` (x 100 000) of ``currency``."""

    KIND = "bet"

    token: Text
    currency: CurrencyCode
    amount: Units
    supplier_user: Text | None = None
    reward_uuid: Text | None = None
    is_free: bool | None = None
    is_supplier_promo: bool | None = None
    is_aggregated: bool | None = None
    bet: FreeText | None = None

    @property
    def value(self) -> Decimal:
        """The amount as an exact Decimal (``200000`` -> ``2``)."""
        return from_units(self.amount)

    def details(self) -> dict[str, object]:
        return super().details() | {"amount": self.amount, "currency": self.currency}


class WinIn(BetIn):
    """``POST /transaction/win``: credit ``amount`` for the bet ``reference_transaction_uuid``.

    The token is carried but never checked (a win may come long after the session ended).
    """

    KIND = "win"

    reference_transaction_uuid: Text

    def details(self) -> dict[str, object]:
        return super().details() | {"reference": self.reference_transaction_uuid}


class RollbackIn(_Money):
    """``POST /transaction/rollback``: refund the bet ``reference_transaction_uuid`` (no amount)."""

    KIND = "rollback"
    GAME_REQUIRED = False
    reference_transaction_uuid: Text
    token: Text | None = None  # carried, never checked

    def details(self) -> dict[str, object]:
        return super().details() | {"reference": self.reference_transaction_uuid}


# Endpoint name -> request model; the path under the operator's Hub88 prefix -> endpoint name.
MODELS: Final[dict[str, type[_In]]] = {
    "info": UserInfoIn,
    "balance": BalanceIn,
    "bet": BetIn,
    "win": WinIn,
    "rollback": RollbackIn,
}
PATHS: Final = {
    "/user/info": "info",
    "/user/balance": "balance",
    "/transaction/bet": "bet",
    "/transaction/win": "win",
    "/transaction/rollback": "rollback",
}

M = TypeVar("M", bound=_In)


@dataclass(frozen=True)
class Refused:
    """A request refused before any I/O: the reply's status, the ``request_uuid`` to echo (when
    the body carried a valid one) and a message for the log."""

    status: Status
    request_uuid: str | None
    message: str


def parse(model: type[M], raw: bytes) -> M | Refused:
    """The raw body as ``model``, or why not (``RS_ERROR_WRONG_SYNTAX`` / ``RS_ERROR_WRONG_TYPES``)."""
    try:
        data = loads(raw)
    except JsonLimitError as exc:
        return Refused(Status.WRONG_SYNTAX, None, f"body refused: {exc}")
    except (ValueError, UnicodeDecodeError) as exc:
        return Refused(Status.WRONG_SYNTAX, None, f"body is not JSON: {exc}")
    if not isinstance(data, dict):
        return Refused(Status.WRONG_SYNTAX, None, "body is not a JSON object")
    echo = echo_uuid(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        syntax = any(e["type"] in _SYNTAX_ERRORS for e in errors)
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        return Refused(Status.WRONG_SYNTAX if syntax else Status.WRONG_TYPES, echo, where)


def echo_uuid(data: object) -> str | None:
    """The body's ``request_uuid`` when it is a string within bounds (the one a reply may echo)."""
    if not isinstance(data, dict):
        return None
    value = data.get("request_uuid")
    if isinstance(value, str) and 0 < len(value) <= MAX_ID and value.isprintable():
        return value
    return None


# --------------------------------------------------------------------------- replies


class Reply(BaseModel):
    """The envelope of ``/user/balance`` and every ``/transaction/*`` reply (reference section 4).

    ``balance`` is the Hub88 integer (x 100 000); it is required with
    ``RS_ERROR_NOT_ENOUGH_MONEY`` and sent on other statuses whenever it is known.
    ``request_uuid`` is omitted only when the request carried none that could be read.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    status: Status
    request_uuid: str | None
    user: str | None = None
    currency: str | None = None
    balance: Units | None = None

    @model_validator(mode="after")
    def _balance_with_not_enough_money(self) -> Reply:
        if self.status is Status.NOT_ENOUGH_MONEY and self.balance is None:
            raise ValueError("RS_ERROR_NOT_ENOUGH_MONEY must carry the balance")
        return self

    def wire(self) -> dict[str, Any]:
        """The reply body as a dict for :func:`groove_adapter.jsonout.dumps` (absent fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def balance_reply(
    status: Status, request_uuid: str | None, user: str | None, currency: str | None, balance: Decimal | None
) -> Reply:
    """A reply with the balance converted exactly (:func:`to_units` refuses, never rounds)."""
    units = None if balance is None else to_units(balance)
    return Reply(status=status, request_uuid=request_uuid, user=user, currency=currency, balance=units)


def refusal_reply(refused: Refused) -> Reply:
    return Reply(status=refused.status, request_uuid=refused.request_uuid)


class UserInfoReply(BaseModel):
    """``/user/info``'s reply: ``user``, ``status``, ``request_uuid`` always; the rest when known."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    user: str
    status: Status
    request_uuid: str | None
    country: str | None = None  # ISO 3166-1 alpha-2
    jurisdiction: str | None = None
    sub_partner_id: str | None = None
    birth_date: str | None = None  # YYYY-MM-DD
    registration_date: str | None = None  # YYYY-MM-DD
    tags: list[str] | None = None
    sex: str | None = None
    affiliate_id: str | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
