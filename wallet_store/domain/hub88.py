"""Hub88's money and statuses, pure: integer amounts x 100 000 <-> exact Decimal, and the ``RS_*`` table.

The rules come from ``shared/reference/hub88-wallet-api.md`` (sections 2 and 7).

**Amounts.** Every Hub88 money field is a JSON integer in the Int64 range holding the value
multiplied by 100 000, for every currency (EUR 3.56 is ``356000``, JPY 1 is ``100000``).

- In (:func:`from_units`): only a real ``int`` (never ``bool``, float, Decimal or string), in
  ``0 .. 2**63 - 1``; the value is ``units * 10**-5``, exact (no context rounding involved).
- Out (:func:`to_units`): a Decimal becomes ``value * 100 000`` only when that is a whole
  number in the Int64 range.  A value with a non-zero digit beyond the fifth decimal place
  (``0.000001``, ``-1.000005``) or out of range is **refused** with :class:`Hub88AmountError`,
  never rounded: a balance Hub88 cannot represent must be noticed, not shown as a neighbour.
  Negative values convert exactly (``-1.5`` -> ``-150000``); whether a negative number may go
  on the wire is the caller's decision (wallet balances never go below zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

SCALE_DIGITS: Final = 5
SCALE: Final = 10**SCALE_DIGITS  # 100 000
INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)


class Hub88AmountError(ValueError):
    """A value that is not an exact Hub88 integer amount (in) or has no exact one (out)."""


def is_wire_int(value: object) -> bool:
    """True for a JSON integer as parsed (``int``), False for bool, float, Decimal, str, None."""
    return isinstance(value, int) and not isinstance(value, bool)


def from_units(units: object) -> Decimal:
    """A Hub88 amount (non-negative Int64) as its exact Decimal value: ``100500`` -> ``1.005``."""
    if not is_wire_int(units):
        raise Hub88AmountError(f"{type(units).__name__} is not an integer amount")
    assert isinstance(units, int)
    if not 0 <= units <= INT64_MAX:
        raise Hub88AmountError(f"amount {units} is outside 0 .. 2**63-1")
    return Decimal(units).scaleb(-SCALE_DIGITS)  # exact: 19 digits at most, the exponent only moves


def to_units(value: Decimal) -> int:
    """The Hub88 integer of an exact Decimal: ``1.005`` -> ``100500``; refuses instead of rounding.

    Pure integer arithmetic on the Decimal's digits and exponent (no Decimal context, so no
    precision limit can round): the digits beyond the fifth decimal place must all be zero and
    the result must fit an Int64.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise Hub88AmountError(f"{value!r} is not a finite Decimal")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    kept = len(digits)
    while kept and digits[kept - 1] == 0:  # trailing zeros say nothing about the value
        kept -= 1
    if kept == 0:
        return 0
    exponent += len(digits) - kept
    if exponent < -SCALE_DIGITS:
        raise Hub88AmountError(f"{_show(value)} has a non-zero digit beyond {SCALE_DIGITS} decimal places")
    if value.adjusted() > 19:  # >= 10**20: out of range before any power of ten is built
        raise Hub88AmountError(f"{_show(value)} is beyond the Int64 range of Hub88 amounts")
    power: int = 10 ** (exponent + SCALE_DIGITS)  # exponent >= -5: a whole power of ten
    units = int("".join(map(str, digits[:kept]))) * power  # <= 25 digits
    units = -units if sign else units
    if not INT64_MIN <= units <= INT64_MAX:
        raise Hub88AmountError(f"{_show(value)} is beyond the Int64 range of Hub88 amounts")
    return units


def _show(value: Decimal) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Status(StrEnum):
    """Every ``status`` of a Hub88 wallet reply (reference section 7), with when it is used.

    Every protocol outcome is HTTP 200 with one of these; only :attr:`OK` means "processed".
    """

    OK = "RS_OK"
    """Processed: also an identical replay (current balance) and a rollback of an unknown bet."""
    UNKNOWN = "RS_ERROR_UNKNOWN"
    """Internal failure or no better code (an unknown user on /user/info); nothing changed."""
    INVALID_PARTNER = "RS_ERROR_INVALID_PARTNER"
    """The operator's brand / sub-partner is disabled or unknown (all endpoints)."""
    INVALID_TOKEN = "RS_ERROR_INVALID_TOKEN"  # noqa: S105 (a status name)
    """Balance and bet: the token is unknown, or belongs to another player than ``user``."""
    INVALID_GAME = "RS_ERROR_INVALID_GAME"
    """Balance and bet: ``game_code`` unknown or not allowed for the operator."""
    WRONG_CURRENCY = "RS_ERROR_WRONG_CURRENCY"
    """Bet and win: ``currency`` differs from the wallet's currency."""
    NOT_ENOUGH_MONEY = "RS_ERROR_NOT_ENOUGH_MONEY"
    """Bet: balance below the stake; the reply must carry ``balance``."""
    USER_DISABLED = "RS_ERROR_USER_DISABLED"
    """Bet: the player is blocked (never for a win, a rollback or a balance)."""
    INVALID_SIGNATURE = "RS_ERROR_INVALID_SIGNATURE"
    """All endpoints: ``X-Hub88-Signature`` missing or not valid over the raw body; nothing changed."""
    TOKEN_EXPIRED = "RS_ERROR_TOKEN_EXPIRED"  # noqa: S105 (a status name)
    """Balance and bet: the session expired.  Never for a win or a rollback."""
    WRONG_SYNTAX = "RS_ERROR_WRONG_SYNTAX"
    """All endpoints: not JSON, not an object, a required field missing, a string out of bounds."""
    WRONG_TYPES = "RS_ERROR_WRONG_TYPES"
    """All endpoints: a field of the wrong JSON type (string/float/bool amount), a negative amount."""
    DUPLICATE_TRANSACTION = "RS_ERROR_DUPLICATE_TRANSACTION"
    """Bet, win, rollback: the ``transaction_uuid`` was seen with another kind, user, amount,
    currency, round, game or reference; also a bet arriving after its rollback (tombstone)."""
    TRANSACTION_DOES_NOT_EXIST = "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"
    """Win: the referenced bet is unknown, was refused or was rolled back."""
    LIMIT_REACHED = "RS_ERROR_LIMIT_REACHED"
    """Bet: a responsible-gaming (loss / wager) limit blocks it."""


# Which endpoints may answer each status (reference section 7; ``balance`` for USER_DISABLED is
# never used: a blocked player may still read the balance).
ENDPOINTS: Final[dict[Status, frozenset[str]]] = {
    Status.OK: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.UNKNOWN: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.INVALID_PARTNER: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.INVALID_TOKEN: frozenset({"balance", "bet"}),
    Status.INVALID_GAME: frozenset({"balance", "bet"}),
    Status.WRONG_CURRENCY: frozenset({"bet", "win"}),
    Status.NOT_ENOUGH_MONEY: frozenset({"bet"}),
    Status.USER_DISABLED: frozenset({"bet"}),
    Status.INVALID_SIGNATURE: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.TOKEN_EXPIRED: frozenset({"balance", "bet"}),
    Status.WRONG_SYNTAX: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.WRONG_TYPES: frozenset({"info", "balance", "bet", "win", "rollback"}),
    Status.DUPLICATE_TRANSACTION: frozenset({"bet", "win", "rollback"}),
    Status.TRANSACTION_DOES_NOT_EXIST: frozenset({"win"}),
    Status.LIMIT_REACHED: frozenset({"bet"}),
}

# On a bet, Hub88 sends a rollback after every status but these (reference section 12).
NO_ROLLBACK_AFTER: Final = frozenset({Status.OK, Status.NOT_ENOUGH_MONEY, Status.LIMIT_REACHED})


@dataclass(frozen=True, slots=True)
class Hub88Settings:
    """One operator's Hub88 configuration (schema version 8).

    ``public_key_pem``: Hub88's public key, which verifies every request's
    ``X-Hub88-Signature``; ``private_key_pem``: the operator's own key, only when replies must be
    signed; ``games``: the game codes the operator allows (empty: every game).  A disabled
    operator's requests are answered ``RS_ERROR_INVALID_PARTNER``.
    """

    operator_id: str
    enabled: bool
    public_key_pem: str
    updated_at: datetime
    private_key_pem: str | None = None
    games: tuple[str, ...] = ()

    def allows(self, game: str | None) -> bool:
        """Whether ``game`` may be played (no list: every game; no game named: allowed)."""
        return not self.games or game is None or game in self.games
