"""Domain errors -> protocol codes: one table per face, looked up along the exception's MRO."""

from __future__ import annotations

from typing import TypeVar

from wallet_store import errors as E
from wallet_store.domain.hub88 import Status
from wallet_store.payments import PaymentDeclined

from .ratelimit import RateLimited

V = TypeVar("V")

# Groove: (code, status).  The status strings are the protocol's.
GROOVE: dict[type[BaseException], tuple[int, str]] = {
    E.NotLoggedOn: (1000, "Not logged on"),
    E.AuthenticationFailed: (1003, "Authentication failed"),
    E.InvalidSignature: (1001, "Invalid signature"),
    E.ParameterRequired: (1008, "Parameter required"),
    E.Invalid: (1008, "Parameter required"),
    E.ParameterMismatch: (400, "Transaction parameter mismatch"),
    E.NotFound: (110, "Operation not allowed"),
    E.Refusal: (110, "Operation not allowed"),
    E.OperationNotAllowed: (110, "Operation not allowed"),
    E.WagerNotFound: (102, "Wager not found"),
    E.RoundClosed: (409, "Round closed or transaction ID exists"),
    E.OutOfMoney: (1006, "Out of money"),
    E.UnknownCurrency: (1007, "Unknown currency"),
    E.GamingLimit: (1019, "Gaming limit"),
    E.AccountBlocked: (1035, "Account blocked"),
    E.Conflict: (1, "Technical error"),
    E.TechnicalError: (1, "Technical error"),
    Exception: (1, "Technical error"),
}

# Hub88: the reply's ``status`` (HTTP 200 always; shared/reference/hub88-wallet-api.md section 7).
HUB88: dict[type[BaseException], Status] = {
    E.InvalidSignature: Status.INVALID_SIGNATURE,
    E.InvalidPartner: Status.INVALID_PARTNER,
    E.NotLoggedOn: Status.INVALID_TOKEN,
    E.TokenExpired: Status.TOKEN_EXPIRED,
    E.ParameterMismatch: Status.DUPLICATE_TRANSACTION,
    E.RoundClosed: Status.DUPLICATE_TRANSACTION,  # a bet whose id a rollback tombstoned
    E.WagerNotFound: Status.TRANSACTION_DOES_NOT_EXIST,
    E.OutOfMoney: Status.NOT_ENOUGH_MONEY,
    E.GamingLimit: Status.LIMIT_REACHED,
    E.AccountBlocked: Status.USER_DISABLED,
    E.UnknownCurrency: Status.WRONG_CURRENCY,
    E.GameNotAllowed: Status.INVALID_GAME,
    Exception: Status.UNKNOWN,  # unknown user, technical failures, an amount with no exact unit value
}

# REST faces: HTTP status.
HTTP: dict[type[BaseException], int] = {
    E.Invalid: 400,
    E.ParameterRequired: 400,
    E.AuthenticationFailed: 401,
    E.InvalidSignature: 401,
    E.NotLoggedOn: 401,
    E.NotFound: 404,
    E.Conflict: 409,
    E.ParameterMismatch: 409,
    E.IdempotencyConflict: 409,
    E.Refusal: 422,
    E.UnknownCurrency: 400,
    E.OutOfMoney: 422,
    E.AccountBlocked: 403,
    PaymentDeclined: 402,  # a currency purchase the payment provider declined
    RateLimited: 429,  # with Retry-After (groove_adapter.ratelimit)
    E.TechnicalError: 503,
    Exception: 500,
}

# Player Balance API (and the write flows, and the live-updates upgrade): the REST table
# above (422 for a refused debit, 409 for a reused key).
PLAYER_BALANCE: dict[type[BaseException], int] = HTTP

# Admin API: the REST table above, in its own shape (groove_adapter.admin.admin_middleware).
ADMIN: dict[type[BaseException], int] = HTTP

# Private wallet API: its OpenAPI (private-wallet-api.md) lists only 400 ("Bad request -
# missing or invalid item"), 401 and 500, so every refusal is one of them: business refusals
# (insufficient funds, blocked account), an unknown identity or wallet and a reused
# idempotency key are 400; a store failure is 500 (rate limits stay 429, see ratelimit.py).
PRIVATE: dict[type[BaseException], int] = {
    **HTTP,
    E.NotFound: 400,
    E.Conflict: 400,
    E.ParameterMismatch: 400,
    E.IdempotencyConflict: 400,
    E.Refusal: 400,
    E.OutOfMoney: 400,
    E.AccountBlocked: 400,
    E.TechnicalError: 500,
}


def lookup(table: dict[type[BaseException], V], exc: BaseException) -> V:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return table[Exception]
