"""Exact money for the client tools: Decimal(32,10), never a float.

The client's own copy of the few rules it needs (the server's are in ``wallet_store.money``;
the client imports nothing of the server).  Parsing accepts only plain decimal strings: an
optional leading ``-``, 1..22 integer digits, optionally ``.`` and 1..10 fractional digits.
"""

from __future__ import annotations

import decimal
import re
from decimal import Context, Decimal, InvalidOperation

INT_DIGITS = 22
FRAC_DIGITS = 10
QUANTUM = Decimal(1).scaleb(-FRAC_DIGITS)  # 0.0000000001
MAX_AMOUNT = Decimal("9" * INT_DIGITS + "." + "9" * FRAC_DIGITS)
ZERO = Decimal(0).quantize(QUANTUM)

# Enough precision for any sum of a few Decimal(32,10) values without rounding.
_CTX = Context(prec=60, traps=[InvalidOperation])

# Python's default context keeps 28 significant digits, fewer than Decimal(32,10) needs: the
# tools' own arithmetic (``bet * multiplier``, ``bonus / 2``) would silently round.  Raise it
# for this thread and for threads started later, as the server does.
decimal.DefaultContext.prec = 60
decimal.getcontext().prec = 60

_PLAIN = re.compile(r"-?[0-9]{1,22}(?:\.[0-9]{1,10})?")

# A Decimal is checked by its digits and exponent before it is formatted (1E+1000000000
# would format to a billion digits); an int by its bits before str().
_MAX_DIGITS = 2 * (INT_DIGITS + FRAC_DIGITS)
_MAX_SCALE = 2 * (INT_DIGITS + FRAC_DIGITS)
_MAX_INT_BITS = 80  # 2**80 > 10**22 > MAX_AMOUNT


class MoneyError(ValueError):
    """A string or number that is not an exact Decimal(32,10)."""


def parse(text: str) -> Decimal:
    """A plain decimal string as an exact Decimal(32,10); :class:`MoneyError` otherwise."""
    if not isinstance(text, str) or not _PLAIN.fullmatch(text):
        raise MoneyError(f"not a decimal with at most {INT_DIGITS} integer and {FRAC_DIGITS} fractional digits")
    value = Decimal(text).quantize(QUANTUM, context=_CTX)
    return ZERO if value.is_zero() else value  # no negative zero


def coerce(value: object) -> Decimal:
    """Accept a Decimal, int or exact string (JSON input already parsed as Decimal)."""
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError("NaN and Infinity are not amounts")
        _check_shape(value)
        text = format(value, "f")
        return parse(_trim(text) if "." in text else text)
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise MoneyError(f"not a decimal with at most {INT_DIGITS} integer digits")
        return parse(str(value))
    if isinstance(value, str):
        return parse(value)
    raise MoneyError(f"{type(value).__name__} is not an amount")


def _check_shape(value: Decimal) -> None:
    _, digits, exponent = value.as_tuple()
    if len(digits) > _MAX_DIGITS or not isinstance(exponent, int) or not -_MAX_SCALE <= exponent <= INT_DIGITS:
        raise MoneyError(f"not a decimal with at most {INT_DIGITS} integer and {FRAC_DIGITS} fractional digits")


def _trim(text: str) -> str:
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return whole + ("." + frac if frac else "")


def check(value: Decimal) -> Decimal:
    """Quantize a computed value, refusing one that left the Decimal(32,10) range."""
    q = value.quantize(QUANTUM, context=_CTX)
    if q.copy_abs() > MAX_AMOUNT:
        raise MoneyError("amount out of Decimal(32,10) range")
    return ZERO if q.is_zero() else q


def add(a: Decimal, b: Decimal) -> Decimal:
    return check(_CTX.add(a, b))


def sub(a: Decimal, b: Decimal) -> Decimal:
    return check(_CTX.subtract(a, b))


def wire(value: Decimal) -> str:
    """Shortest exact decimal text: ``100``, ``140.25``, ``0.0000000001`` (never an exponent)."""
    text = format(value, "f")
    if "." in text:
        text = _trim(text)
    if text in ("-0", ""):
        return "0"
    return text
