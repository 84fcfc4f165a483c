"""Domain errors.  Pure: no HTTP, no driver.

Each face maps these to its own protocol in one table (``groove_adapter.errors``) by
walking the exception's MRO, so a new subclass inherits its parent's code.

``Refusal`` is a *business* outcome: it is remembered with the transaction id and replayed
to a retry (TigerBeetle's ``id_already_failed``).  ``Invalid`` is a malformed request that
never reached a decision, so nothing is remembered.  ``TechnicalError`` means nothing was
decided (store unreachable, bug); the aggregator retries and we evaluate afresh.
"""

from __future__ import annotations


class WalletError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.message = message or (self.__class__.__doc__ or self.__class__.__name__).strip()


# --- the request could not be evaluated: nothing decided, nothing remembered ----------


class Invalid(WalletError):
    """Invalid request."""


class ParameterRequired(Invalid):
    """Parameter required."""

    def __init__(self, parameter: str, detail: str = "missing") -> None:
        super().__init__(f"{parameter}: {detail}")
        self.parameter = parameter


class NotLoggedOn(Invalid):
    """Not logged on."""


class TokenExpired(NotLoggedOn):
    """Session expired."""


class InvalidPartner(Invalid):
    """The operator does not take this aggregator's requests (not configured or disabled)."""


class AuthenticationFailed(Invalid):
    """Authentication failed."""


class InvalidSignature(Invalid):
    """Invalid signature."""


class CallerNotAllowed(InvalidSignature):
    """Caller address not allowed."""


class NotFound(Invalid):
    """Not found."""


class Conflict(Invalid):
    """Conflict."""


class ParameterMismatch(Conflict):
    """Transaction parameter mismatch."""


class IdempotencyConflict(Conflict):
    """The idempotency key was used with a different request."""


class TechnicalError(WalletError):
    """Technical error."""


class UnrepresentableAmount(TechnicalError):
    """An amount the aggregator's wire cannot carry exactly (never rounded)."""


class StoreUnavailable(TechnicalError):
    """The wallet store is unreachable."""


# --- business refusals: remembered and replayed --------------------------------------


class Refusal(WalletError):
    """Refused."""


class OperationNotAllowed(Refusal):
    """Operation not allowed."""


class GameNotAllowed(OperationNotAllowed):
    """Game not allowed."""


class UnknownAccount(OperationNotAllowed):
    """Unknown account."""


class AmountOutOfRange(OperationNotAllowed):
    """The amount or resulting balance does not fit Decimal(32,10)."""


class WagerNotFound(Refusal):
    """Wager not found."""


class RoundClosed(Refusal):
    """Round closed or transaction ID exists."""


class OutOfMoney(Refusal):
    """Out of money."""


class UnknownCurrency(Refusal):
    """Unknown currency."""


class GamingLimit(Refusal):
    """Gaming limit."""


class AccountBlocked(Refusal):
    """Account blocked."""


REFUSALS: dict[str, type[Refusal]] = {
    cls.__name__: cls
    for cls in (
        Refusal,
        OperationNotAllowed,
        GameNotAllowed,
        UnknownAccount,
        AmountOutOfRange,
        WagerNotFound,
        RoundClosed,
        OutOfMoney,
        UnknownCurrency,
        GamingLimit,
        AccountBlocked,
    )
}


def refusal_from_record(name: str, message: str) -> Refusal:
    """Rebuild a remembered refusal for a replay."""
    cls = REFUSALS.get(name, Refusal)
    err = cls(message)
    return err
