"""SQL literals for the PostgreSQL backend's closing message (the deferred writes and COMMIT in one
simple-query message, see :mod:`wallet_store.postgres.deferred`).

The simple query protocol takes no parameters, so the writes' values are sent as literals.
This renderer is deliberately small and strict:

* Only the types the deferred writes use: ``None``, ``bool``, ``int``, ``Decimal`` (finite),
  ``str``, an aware ``datetime``, and a flat ``list``/``tuple`` of those (an array).  Anything
  else is refused (:class:`ValueError`), never turned into text by ``str()``.
* Every value but NULL is one quoted string literal (a number and a boolean too), its single
  quotes doubled.  That is the whole escaping, and it is complete only while
  ``standard_conforming_strings`` is on (a backslash is then an ordinary character): the
  store sets it for every connection and checks it before each message that holds literals
  (:func:`require_standard_strings`).  No ``E''`` strings, no dollar quoting.
* NUL cannot be stored in PostgreSQL text: refused here (the parameter path failed on it at
  the server).  So is a lone surrogate (it has no UTF-8 form).
* A quoted literal has no type of its own: the prepared statement it is an argument of gives
  it one (``EXECUTE name('...')`` is read by that parameter's input function), so a value is
  never re-interpreted by an ambiguous cast.
* An aware ``datetime`` is sent in UTC, ISO 8601; ``datetime.max``/``min`` as
  ``infinity``/``-infinity``, exactly as asyncpg's binary codec sends them as parameters.
* An array is the array input syntax (``{"a","b",NULL}``, each element double-quoted with
  ``\\`` and ``"`` escaped by a backslash, as ``array_in`` reads them), then quoted as one
  string literal like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_MAX = datetime.max.replace(tzinfo=UTC)
_MIN = datetime.min.replace(tzinfo=UTC)


def require_standard_strings(settings: Any) -> None:
    """Refuse to send literals on a session where a backslash in '...' is an escape, or whose
    client encoding is not UTF-8 (the only one asyncpg speaks; in UTF-8 no byte of a
    multi-byte character is a quote)."""
    if getattr(settings, "standard_conforming_strings", None) != "on":
        raise ValueError("standard_conforming_strings is not on for this session")
    if getattr(settings, "client_encoding", None) != "UTF8":
        raise ValueError("the session's client_encoding is not UTF8")


def _text(v: str) -> str:
    if "\x00" in v:
        raise ValueError("a string holds NUL, which PostgreSQL text cannot store")
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("a string holds a lone surrogate (no UTF-8 form)") from exc
    return v


def _bool_text(v: bool) -> str:
    return "true" if v else "false"


def _int_text(v: int) -> str:
    return str(int(v))


def _decimal_text(v: Decimal) -> str:
    if not v.is_finite():
        raise ValueError(f"a non-finite decimal: {v}")
    return str(v)  # exact; an exponent ("1E+3") is numeric input too, same value and scale


# The last datetime rendered and its text: a unit's timestamps are mostly one instant.
_last_dt: tuple[Any, str] = (None, "")


def _datetime_text(v: datetime) -> str:
    global _last_dt
    last = _last_dt
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("a naive datetime (no time zone)")
    if v.tzinfo is UTC and v == last[0]:
        # Only UTC values are kept: two datetimes of one other zone compare as wall times
        # (fold ignored), which may be different instants.
        return last[1]
    try:
        utc = v.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"a datetime out of range: {v!r}") from exc
    # asyncpg's binary codec sends datetime.max/min as +/-infinity (and reads them back as
    # such): the same value whichever way it is sent.
    if utc == _MAX:
        text = "infinity"
    elif utc == _MIN:
        text = "-infinity"
    else:
        text = utc.isoformat()
    if v.tzinfo is UTC:
        _last_dt = (v, text)
    return text


# Exact types first (a dict lookup); a subclass goes through isinstance in the same order.
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _text,
    bool: _bool_text,
    int: _int_text,
    Decimal: _decimal_text,
    datetime: _datetime_text,
}


def _scalar_text(v: Any) -> str:
    """A scalar's text form, as the column type's input function reads it (not yet quoted)."""
    f = _SCALARS.get(type(v))
    if f is not None:
        return f(v)
    for t, g in _SCALARS.items():
        if isinstance(v, t):
            return g(v)
    raise ValueError(f"no SQL literal for a {type(v).__name__}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_ARRAYS = (list, tuple)


def _array_element(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, _ARRAYS):
        raise ValueError("nested arrays are not rendered")
    text = _scalar_text(v)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_literal(v: Any) -> str:
    return _quote("{" + ",".join(map(_array_element, v)) + "}")


def _str_literal(v: str) -> str:
    return "'" + _text(v).replace("'", "''") + "'"


def _literal_list(v: Any) -> str:
    """An array's literal; its elements' exact types inline (the common case), anything else
    through :func:`_array_element` (the same rules)."""
    out = []
    for e in v:
        t = type(e)
        if t is str:
            if "\x00" in e or not e.isascii():
                e = _text(e)
            if '"' in e or "\\" in e:
                e = e.replace("\\", "\\\\").replace('"', '\\"')
            out.append('"' + e + '"')
        elif t is Decimal:
            # digits, sign, point, exponent: nothing to escape
            out.append('"' + _decimal_text(e) + '"')
        elif t is int:
            out.append('"' + str(e) + '"')
        elif e is None:
            out.append("NULL")
        else:
            out.append(_array_element(e))
    return "'" + "{" + ",".join(out).replace("'", "''") + "}" + "'"


def _bare(text: Callable[[Any], str]) -> Callable[[Any], str]:
    """The literal of a type whose text never holds a quote (digits, signs, ISO dates)."""
    return lambda v: "'" + text(v) + "'"


# Exact types (one dict lookup); anything else goes through isinstance (_literal_slow).
_LITERALS: dict[type, Callable[[Any], str]] = {
    str: _str_literal,
    Decimal: _bare(_decimal_text),
    datetime: _bare(_datetime_text),
    int: _bare(_int_text),
    bool: _bare(_bool_text),
    type(None): lambda v: "NULL",
    list: _array_literal,
    tuple: _array_literal,
}


def _literal_slow(v: Any) -> str:
    if isinstance(v, _ARRAYS):
        return _array_literal(v)
    return _quote(_scalar_text(v))


def literal(v: Any) -> str:
    """``v`` as one SQL literal (see the module's rules)."""
    t = type(v)
    # The deferred writes' exact types inline, most frequent first; the same functions and
    # rules as the table below (which also serves subclasses, through isinstance).
    if t is str:
        text: str = v
        if "\x00" in text or not text.isascii():
            text = _text(text)
        return "'" + text.replace("'", "''") + "'" if "'" in text else "'" + text + "'"
    if t is Decimal:
        return "'" + _decimal_text(v) + "'"
    if t is list:
        return _literal_list(v)
    if v is None:
        return "NULL"
    if t is int:
        return "'" + str(v) + "'"
    f = _LITERALS.get(t)
    return f(v) if f is not None else _literal_slow(v)


def literals(args: Any) -> str:
    """``args`` as comma-separated literals (an EXECUTE's argument list)."""
    return ",".join([literal(v) for v in args])
