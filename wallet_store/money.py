"""Exact money: Decimal(32,10) end to end.

* Parsing accepts only plain decimal strings: an optional leading ``-``, 1..22 integer
  digits, optionally ``.`` and 1..10 fractional digits.  NaN, Infinity, exponents,
  whitespace, ``+`` signs and empty strings are refused.  No float is ever involved.
* Values are kept as :class:`decimal.Decimal` quantized to 10 fractional digits.
* On the wire (Groove, private wallet API) amounts are JSON *numbers* written from the
  Decimal's own digits (``100``, ``140.25``, ``0.0000000001``); on the Player Balance API
  they are strings.  See :func:`wire` and :mod:`groove_adapter.jsonout`.

Storage representation
----------------------
SQLite has no exact decimal type (``NUMERIC`` affinity converts to REAL above 2**63,
``REAL`` loses digits), and a Decimal(32,10) scaled to an integer needs 106 bits, more
than SQLite's 64-bit INTEGER.  So balances are stored as fixed-width, zero-padded TEXT
(:func:`to_db`): 22 integer digits, a point, 10 fractional digits, with a leading sign
negative values written as ``-`` followed by the nines' complement of the digits, so that
byte-wise ordering equals numeric ordering (``-`` sorts before every digit).  That keeps every value exact, and lets SQL
express an atomic funds check (``WHERE real >= :amount``) and ordering, while all
arithmetic happens in Python on Decimals inside the single writer transaction.
PostgreSQL uses ``NUMERIC(32,10)``, which is exact natively.
"""

from __future__ import annotations

import decimal
import re
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation

INT_DIGITS = 22
FRAC_DIGITS = 10
QUANTUM = Decimal(1).scaleb(-FRAC_DIGITS)  # 0.0000000001
MAX_AMOUNT = Decimal("9" * INT_DIGITS + "." + "9" * FRAC_DIGITS)
ZERO = Decimal(0).quantize(QUANTUM)

# Enough precision for any sum of a few Decimal(32,10) values without rounding.
_CTX = Context(prec=60, traps=[InvalidOperation])

# Python's default decimal context keeps 28 significant digits, fewer than the 32 that
# Decimal(32,10) needs: ``abs()``, ``+``, comparisons-with-arithmetic in any code would
# silently round.  Raise the precision for this thread and for every thread started later
# (aiosqlite, asyncpg and the executor threads copy DefaultContext).
decimal.DefaultContext.prec = 60
decimal.getcontext().prec = 60

_PLAIN = re.compile(r"-?[0-9]{1,22}(?:\.[0-9]{1,10})?")


class MoneyError(ValueError):
    """A string or number that is not an exact Decimal(32,10)."""


def parse(text: str) -> Decimal:
    """Parse a wire string into an exact Decimal(32,10).

    Raises :class:`MoneyError` for anything that is not a plain decimal of at most 22
    integer and 10 fractional digits.  Negative values are returned as such; whether a
    negative is allowed is the caller's business rule.
    """
    if not isinstance(text, str) or not _PLAIN.fullmatch(text):
        raise MoneyError(f"not a decimal with at most {INT_DIGITS} integer and {FRAC_DIGITS} fractional digits")
    value = Decimal(text).quantize(QUANTUM, context=_CTX)
    if value.is_zero():
        return ZERO  # no negative zero
    return value


def coerce(value: object) -> Decimal:
    """Accept a Decimal, int or exact string (JSON input already parsed as Decimal)."""
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError("NaN and Infinity are not amounts")
        _check_shape(value)  # before formatting: 1E+1000000000 would format to a billion digits
        text = format(value, "f")
        # Decimal('1E+3') formats as '1000'; '1.50' keeps its digits; check the bounds.
        return parse(_trim(text) if "." in text else text)
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:  # before str(): its cost grows with the digits
            raise MoneyError(f"not a decimal with at most {INT_DIGITS} integer digits")
        return parse(str(value))
    if isinstance(value, str):
        return parse(value)
    raise MoneyError(f"{type(value).__name__} is not an amount")


# A Decimal is checked by its digits and exponent before it is formatted: at most this many
# digits (trailing zeros of an exact value included) and an exponent within
# [-_MAX_SCALE, INT_DIGITS], so the formatted text is a few dozen characters at most.
_MAX_DIGITS = 2 * (INT_DIGITS + FRAC_DIGITS)
_MAX_SCALE = 2 * (INT_DIGITS + FRAC_DIGITS)
_MAX_INT_BITS = 80  # 2**80 > 10**22 > MAX_AMOUNT


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
    if value.is_zero():  # zero of any exponent or sign (a third of a wager's checks)
        return ZERO
    q = value.quantize(QUANTUM, context=_CTX)
    if q.copy_abs() > MAX_AMOUNT:
        raise MoneyError("amount out of Decimal(32,10) range")
    return ZERO if q.is_zero() else q


def add(a: Decimal, b: Decimal) -> Decimal:
    return check(_CTX.add(a, b))


def sub(a: Decimal, b: Decimal) -> Decimal:
    return check(_CTX.subtract(a, b))


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Product rounded down to the quantum (used for proportional splits and rates)."""
    return _CTX.multiply(a, b).quantize(QUANTUM, rounding=ROUND_DOWN, context=_CTX)


def proportion(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount * part / whole`` rounded down to the quantum; 0 when ``whole`` is 0."""
    if whole.is_zero():
        return ZERO
    return check(_CTX.divide(_CTX.multiply(amount, part), whole).quantize(QUANTUM, rounding=ROUND_DOWN, context=_CTX))


def wire(value: Decimal) -> str:
    """Shortest exact decimal text: ``100``, ``140.25``, ``0.0000000001`` (never an exponent)."""
    if value.is_zero():  # zero of any exponent or sign: 4 of a wager's 6 hashed amounts
        return "0"
    text = format(value, "f")
    if "." in text:
        text = _trim(text)
    if text in ("-0", ""):
        return "0"
    return text


def fixed(value: Decimal, places: int = 2) -> str:
    """Decimal string with at least ``places`` fractional digits (``"150.00"``), exact."""
    text = wire(value)
    whole, _, frac = text.partition(".")
    if len(frac) < places:
        frac = frac + "0" * (places - len(frac))
    return whole + "." + frac if frac else whole


_DB_WIDTH = INT_DIGITS + 1 + FRAC_DIGITS
_NINES = str.maketrans("0123456789", "9876543210")


def to_db(value: Decimal) -> str:
    """Order-preserving fixed-width TEXT for SQLite (see module docstring)."""
    if value.is_zero():  # zero (of any exponent or sign): most of a wager's columns (bonus, reserved)
        return _DB_ZERO
    q = check(value)
    digits = format(q.copy_abs(), "f").rjust(_DB_WIDTH, "0")
    if q < 0:
        return "-" + digits.translate(_NINES)
    return digits


_DB_ZERO = "0" * INT_DIGITS + "." + "0" * FRAC_DIGITS
_DB_FORM = re.compile(r"-?[0-9]{22}\.[0-9]{10}")


def from_db(text: str) -> Decimal:
    if text == _DB_ZERO:  # the most frequent stored amount, read without the pattern
        return ZERO
    if not isinstance(text, str) or not _DB_FORM.fullmatch(text):
        raise MoneyError(f"corrupt stored amount {text!r}")
    if text[0] == "-":
        return check(-Decimal(text[1:].translate(_NINES)))
    return Decimal(text).quantize(QUANTUM)
